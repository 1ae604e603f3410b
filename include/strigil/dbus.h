/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * The names of strigild's D-Bus API (docs/dbus-api.md,
 * daemon/org.strigil.Strigil1.xml): one copy for the daemon, strigilctl,
 * strigil-clinic and strigil-sync. Applications may copy this header.
 */
#ifndef STRIGIL_DBUS_H
#define STRIGIL_DBUS_H

#define STRIGIL_DBUS_NAME		"org.strigil.Strigil1"
#define STRIGIL_DBUS_ROOT		"/org/strigil/Strigil1"

#define STRIGIL_DBUS_IFACE_MANAGER	STRIGIL_DBUS_NAME ".Manager"
#define STRIGIL_DBUS_IFACE_INSTRUMENT	STRIGIL_DBUS_NAME ".Instrument"
#define STRIGIL_DBUS_IFACE_SESSION	STRIGIL_DBUS_NAME ".Session"
#define STRIGIL_DBUS_IFACE_PROFILE	STRIGIL_DBUS_NAME ".Profile"
#define STRIGIL_DBUS_IFACE_DEBUG	STRIGIL_DBUS_NAME ".Debug"	/* --simulate only */

/* Objects: ROOT/instrument/<serial>, ROOT/session/<id>, ROOT/profile/<id> */
#define STRIGIL_DBUS_PATH_INSTRUMENT	STRIGIL_DBUS_ROOT "/instrument"
#define STRIGIL_DBUS_PATH_SESSION	STRIGIL_DBUS_ROOT "/session"
#define STRIGIL_DBUS_PATH_PROFILE	STRIGIL_DBUS_ROOT "/profile"

/* Errors: STRIGIL_DBUS_ERROR_PREFIX + one of the names below */
#define STRIGIL_DBUS_ERROR_PREFIX	STRIGIL_DBUS_NAME ".Error."
#define STRIGIL_DBUS_ERROR(n)		STRIGIL_DBUS_ERROR_PREFIX n
#define STRIGIL_DBUS_ERROR_INVALID_ARGUMENT	STRIGIL_DBUS_ERROR("InvalidArgument")
#define STRIGIL_DBUS_ERROR_CONTRAINDICATED	STRIGIL_DBUS_ERROR("Contraindicated")
#define STRIGIL_DBUS_ERROR_NOT_CALIBRATED	STRIGIL_DBUS_ERROR("NotCalibrated")
#define STRIGIL_DBUS_ERROR_CALIBRATION_EXPIRED	STRIGIL_DBUS_ERROR("CalibrationExpired")
#define STRIGIL_DBUS_ERROR_NO_SUCH_OBJECT	STRIGIL_DBUS_ERROR("NoSuchObject")
#define STRIGIL_DBUS_ERROR_BUSY			STRIGIL_DBUS_ERROR("Busy")
#define STRIGIL_DBUS_ERROR_DISCONNECTED		STRIGIL_DBUS_ERROR("Disconnected")
#define STRIGIL_DBUS_ERROR_ACCESS_DENIED	STRIGIL_DBUS_ERROR("AccessDenied")
#define STRIGIL_DBUS_ERROR_NOT_CLAIMED		STRIGIL_DBUS_ERROR("NotClaimed")
#define STRIGIL_DBUS_ERROR_INVALID_STATE	STRIGIL_DBUS_ERROR("InvalidState")
#define STRIGIL_DBUS_ERROR_STORAGE_FAILED	STRIGIL_DBUS_ERROR("StorageFailed")
#define STRIGIL_DBUS_ERROR_DEVICE_ERROR		STRIGIL_DBUS_ERROR("DeviceError")

#endif
