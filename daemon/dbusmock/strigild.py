'''strigild mock template for python-dbusmock

Mocks strigild, the Strigil IASTM instrument daemon (org.strigil.Strigil1 on
the system bus), so that a client (a desktop app, a panel, a script) can be
tested without the daemon, an instrument or polkit. It offers the objects and
members of daemon/org.strigil.Strigil1.xml as that file describes them:

  /org/strigil/Strigil1                    Manager + ObjectManager
  /org/strigil/Strigil1/instrument/SERIAL  Instrument
  /org/strigil/Strigil1/session/ID         Session
  /org/strigil/Strigil1/profile/ID         Profile

with realistic properties (regions, conditions and caps read from the clinic
policy file), the documented errors (org.strigil.Strigil1.Error.*), signals
and PropertiesChanged where the daemon sends them. Sessions and profiles
live in memory. The cap arithmetic follows the shipped policy's rules in a
simplified form: test what your client shows, not the rules (the daemon's
own tests cover those).

The mock reads the interface XML at load time (next to this file in the
source tree, or $datadir/dbus-1/interfaces/org.strigil.Strigil1.xml) and
refuses to load if one of its members has another signature than the XML;
members added by later API levels are offered only when the XML has them,
and APIVersion is the XML's highest level. tests/api/test-dbusmock.py checks
every member it offers against the XML.

Start it:
  python3 -m dbusmock --system --template /usr/share/strigil/dbusmock/strigild.py
or from a test (dbusmock.DBusTestCase):
  self.spawn_server_template('/usr/share/strigil/dbusmock/strigild.py',
                             {'instruments': ['SIM0001']}, system_bus=True)

Parameters (all optional):
  instruments     list of serials to create at start (default ["SIM0001"])
  policy          clinic policy file (default: /etc/strigil/policy.conf,
                  else the vendor copy, else the source tree's)
  xml             the interface XML (default: see above)
  calibrated      bool, instruments have a valid calibration (default True)
  allow_uncalibrated  bool, StartSession on an uncalibrated instrument runs
                  with flag "uncalibrated" instead of NotCalibrated
  Version         daemon version string (default "0.1.0-mock")

Helpers on org.freedesktop.DBus.Mock at /org/strigil/Strigil1 (the tool's
side of things that a test cannot do through the API):
  AddInstrument(s serial, a{sv} properties) -> o
  RemoveInstrument(o instrument)
  SetConnected(o instrument, b connected)     unplug / re-plug
  SetForce(o instrument, d force_n)           live ForceN (PropertiesChanged)
  StreamSamples(o instrument, ad force_n)     samples to every OpenStream fd
  SetCalibration(o instrument, t date_us, t due_us)
  EmitStroke(o session, d peak_n, d duration_s) -> u index
  EmitLimitWarning(o session, d force_n)
  EmitLimitExceeded(o session, d force_n)     Alert "exceeded", ViolationCount
  ClearAlert(o instrument)                    force back under the cap
  EmitSessionCapReached(o session, s cap)     "strokes" or "time"
  SetAlertFailures(o instrument, u count)
  SetAllowedActions(as actions)               polkit: the rest -> AccessDenied
'''

# SPDX-License-Identifier: LGPL-2.1-or-later
# Part of Strigil; installed to $datadir/strigil/dbusmock/strigild.py.

import configparser
import os
import re
import socket
import struct
import time
import uuid
import xml.etree.ElementTree as ET

import dbus

from dbusmock import MOCK_IFACE, mockobject

BUS_NAME = 'org.strigil.Strigil1'
MAIN_OBJ = '/org/strigil/Strigil1'
MAIN_IFACE = 'org.strigil.Strigil1.Manager'
SYSTEM_BUS = True
IS_OBJECT_MANAGER = True

IFACE = 'org.strigil.Strigil1.'
MANAGER = IFACE + 'Manager'
INSTRUMENT = IFACE + 'Instrument'
SESSION = IFACE + 'Session'
PROFILE = IFACE + 'Profile'
ERR = IFACE + 'Error.'
SINCE = 'org.strigil.Strigil1.Since'
ACTIONS = [IFACE + a for a in ('monitor', 'treat', 'manage-profiles',
                               'override-contraindication', 'calibrate')]

# What this mock offers: {interface: {kind: {name: signature}}}; a method's
# signature is (in, out). Members marked in LATER are offered only when the
# interface XML has them (they come with a later API level).
MEMBERS = {
    'Manager': {
        'property': {'Version': 's', 'APIVersion': 'u', 'Instruments': 'ao',
                     'Sessions': 'ao', 'ActiveSessions': 'ao', 'Profiles': 'ao',
                     'Regions': 'as', 'LateralRegions': 'as', 'Conditions': 'as',
                     'RegionDetails': 'aa{sv}',
                     'ConditionDetails': 'aa{sv}', 'WarnFraction': 'd',
                     'PatientIdentifierSystem': 's',
                     'StorageState': 's', 'StorageError': 's', 'StoragePending': 'u',
                     'StorageDropped': 't', 'DamagedDatabase': 's'},
        'method': {'CreateProfile': ('a{sv}', 'o'), 'StartSession': ('oos', 'o'),
                   'StartSessionWithOptions': ('oosa{sv}', 'o'),
                   'FindProfile': ('s', 'o'), 'ListSessions': ('uu', 'aou'),
                   'ListProfiles': ('suu', 'aou'),
                   'ApplyRemoteProfile': ('sa{sv}a{sv}', 'o')},
        'signal': {'InstrumentAdded': 'o', 'InstrumentRemoved': 'o',
                   'StorageStateChanged': 'ss'},
    },
    'Instrument': {
        'property': {'Serial': 's', 'Model': 's', 'Firmware': 's', 'Backend': 's',
                     'Connected': 'b', 'SampleRateHz': 'u', 'Channels': 'as',
                     'CalibrationDate': 't', 'CalibrationDue': 't',
                     'CalibrationValid': 'b', 'CalibrationTechnician': 's',
                     'LostSamples': 't', 'ForceN': 'd', 'Streaming': 'b', 'Claims': 'u',
                     'ActiveSession': 'o', 'Alert': 's', 'AlertFailures': 'u',
                     'StrokeRule': 's'},
        'method': {'Claim': ('', ''), 'Release': ('', ''), 'Tare': ('', ''),
                   'OpenStream': ('', 'h'), 'ReadPoint': ('d', 'a(sddt)'),
                   'GetCalibration': ('', 'a{sv}'), 'WriteCalibration': ('a{sv}', ''),
                   'GetCalibrationHistory': ('', 'aa{sv}')},
        'signal': {},
    },
    'Session': {
        'property': {'Id': 't', 'Instrument': 'o', 'Profile': 'o', 'PatientRef': 's',
                     'Region': 's', 'Side': 's',
                     'State': 's', 'StartedAt': 't', 'EndedAt': 't', 'StrokeCount': 'u',
                     'ViolationCount': 'u', 'WarningCount': 'u', 'SecondsUnderLoad': 'd',
                     'PeakN': 'd', 'EffectiveLimitN': 'd', 'LimitSource': 's',
                     'LimitReasons': 'as', 'TargetMinN': 'd', 'TargetMaxN': 'd',
                     'MaxStrokes': 'u', 'MaxSecondsUnderLoad': 'd', 'Flags': 'as',
                     'OverrideReason': 's', 'LostSamples': 't', 'LostRecords': 'u',
                     'Uuid': 's'},
        'method': {'SetRegion': ('s', ''), 'Pause': ('', ''), 'Resume': ('', ''),
                   'Stop': ('', 'a{sv}'), 'GetStrokes': ('', 'aa{sv}'),
                   'GetViolations': ('', 'aa{sv}'), 'GetPauses': ('', 'aa{sv}'),
                   'GetBursts': ('', 'aa{sv}')},
        'signal': {'StrokeCompleted': 'a{sv}', 'LimitWarning': 'a{sv}',
                   'LimitExceeded': 'a{sv}', 'SessionCapReached': 's'},
    },
    'Profile': {
        'property': {'Id': 't', 'PatientRef': 's', 'LegacyPatientRef': 'b',
                     'DisplayName': 's', 'MaxForceN': 'd',
                     'RegionCapsN': 'a{sd}', 'TargetMinN': 'd', 'TargetMaxN': 'd',
                     'MaxStrokes': 'u', 'MaxSecondsUnderLoad': 'd',
                     'RegionMaxStrokes': 'a{su}', 'RegionMaxSeconds': 'a{sd}',
                     'Conditions': 'as', 'CreatedAt': 't', 'ModifiedAt': 't',
                     'Uuid': 's', 'ReviewState': 's'},
        'method': {'Update': ('a{sv}', ''), 'Delete': ('', ''), 'ConfirmReview': ('', ''),
                   'ListSessions': ('uu', 'aou'), 'GetRegionHistory': ('', 'aa{sv}')},
        'signal': {},
    },
}
LATER = {('Manager', 'APIVersion'), ('Manager', 'FindProfile'), ('Manager', 'RegionDetails'),
         ('Manager', 'ConditionDetails'), ('Manager', 'WarnFraction'),
         ('Manager', 'PatientIdentifierSystem'),
         ('Manager', 'LateralRegions'), ('Session', 'PatientRef'), ('Session', 'Side'),
         ('Profile', 'LegacyPatientRef'),
         ('Instrument', 'StrokeRule'), ('Session', 'GetPauses'), ('Session', 'GetBursts'),
         ('Profile', 'ListSessions'), ('Profile', 'GetRegionHistory'),
         # issue 16: the storage state, the history paged
         ('Manager', 'StorageState'), ('Manager', 'StorageError'),
         ('Manager', 'StoragePending'), ('Manager', 'StorageDropped'),
         ('Manager', 'DamagedDatabase'), ('Manager', 'ListSessions'),
         ('Manager', 'StorageStateChanged'), ('Session', 'LostRecords'),
         # the clinic network (docs/network.md)
         ('Manager', 'ApplyRemoteProfile'), ('Profile', 'Uuid'), ('Profile', 'ReviewState'),
         ('Profile', 'ConfirmReview'), ('Session', 'Uuid'),
         # level 3: patients paged
         ('Manager', 'ListProfiles')}

# polkit action per method (daemon/auth.c; docs/dbus-api.md "Authorization")
AUTH = {
    'Claim': 'monitor', 'Release': 'monitor', 'OpenStream': 'monitor',
    'GetCalibration': 'monitor', 'GetCalibrationHistory': 'monitor',
    'GetStrokes': 'monitor', 'GetViolations': 'monitor', 'GetPauses': 'monitor',
    'GetBursts': 'monitor', 'ListSessions': 'monitor', 'GetRegionHistory': 'monitor',
    'FindProfile': 'monitor', 'ListProfiles': 'monitor',
    'StartSession': 'treat', 'StartSessionWithOptions': 'treat', 'Tare': 'treat',
    'SetRegion': 'treat', 'Pause': 'treat', 'Resume': 'treat', 'Stop': 'treat',
    'CreateProfile': 'manage-profiles', 'Update': 'manage-profiles',
    'Delete': 'manage-profiles', 'ConfirmReview': 'manage-profiles',
    'ApplyRemoteProfile': 'sync-profiles',
    'ReadPoint': 'calibrate', 'WriteCalibration': 'calibrate',
}

# Built-in policy when no file is found: a few regions and conditions.
FALLBACK_POLICY = '''
[limits]
absolute_max_n = 14.0
warn_fraction = 0.9
[region neck]
cap_n = 4.0
max_load_s = 120
[region upper_back]
cap_n = 10.0
[region calf]
lateral = yes
cap_n = 10.0
[contraindication dvt]
override = no
[contraindication open_wound]
local = yes
override = no
[contraindication uncontrolled_hypertension]
override = yes
cap_factor = 0.7
[precaution anticoagulants]
cap_factor = 0.5
session_factor = 0.75
'''

REF_RE = re.compile(r'^[A-Za-z0-9._-]{1,64}$')
STREAM_HDR = struct.Struct('<IHHQII')     # daemon/stream.h
STREAM_SMP = struct.Struct('<dffffII')
STREAM_MAGIC = 0x31534753


def err(name, text):
    return dbus.exceptions.DBusException(text, name=ERR + name)


def typed(sig, v):
    '''A python value as the D-Bus type `sig` (introspection guesses the type
    from the stored value, so every property is stored typed).'''
    simple = {'s': dbus.String, 'o': dbus.ObjectPath, 'u': dbus.UInt32, 't': dbus.UInt64,
              'd': dbus.Double, 'b': dbus.Boolean}
    if sig in simple:
        return simple[sig](v)
    if sig == 'v':
        return v
    if sig.startswith('a{'):
        return dbus.Dictionary({str(k): typed(sig[3], x) for k, x in dict(v).items()},
                               signature=sig[2:-1])
    if sig.startswith('a'):
        return dbus.Array([typed(sig[1:], x) for x in v], signature=sig[1:])
    raise ValueError('no conversion for ' + sig)


def record(pairs):
    '''An a{sv} dict from (key, sig, value) triples.'''
    return dbus.Dictionary({k: typed(s, v) for k, s, v in pairs}, signature='sv')


def now_us():
    return int(time.time() * 1000000)


# ---- the interface XML ----------------------------------------------------

def find_xml(parameters):
    here = os.path.dirname(os.path.abspath(__file__))
    for p in (parameters.get('xml'),
              os.path.join(here, '..', 'org.strigil.Strigil1.xml'),
              os.path.join(here, '..', '..', 'dbus-1', 'interfaces', 'org.strigil.Strigil1.xml'),
              '/usr/share/dbus-1/interfaces/org.strigil.Strigil1.xml'):
        if p and os.path.exists(p):
            return str(p)
    raise RuntimeError('strigild template: org.strigil.Strigil1.xml not found (pass "xml")')


def xml_members(path):
    '''{(iface short name, member): (kind, signature, since)} of the XML.'''
    out = {}
    for i in ET.parse(path).getroot().findall('interface'):
        short = i.get('name').rsplit('.', 1)[1]
        for m in i:
            if m.tag not in ('method', 'property', 'signal'):
                continue
            since = [int(a.get('value')) for a in m.findall('annotation') if a.get('name') == SINCE]
            if m.tag == 'method':
                args = m.findall('arg')
                sig = (''.join(a.get('type') for a in args if a.get('direction', 'in') == 'in'),
                       ''.join(a.get('type') for a in args if a.get('direction') == 'out'))
            elif m.tag == 'signal':
                sig = ''.join(a.get('type') for a in m.findall('arg'))
            else:
                sig = m.get('type')
            out[(short, m.get('name'))] = (m.tag, sig, since[0] if since else 1)
    return out


def offered(xml):
    '''{iface: {kind: {name: sig}}}: this mock's members that the XML has,
    after checking that every one has the XML's signature.'''
    out = {}
    for iface, kinds in MEMBERS.items():
        for kind, names in kinds.items():
            for name, sig in names.items():
                have = xml.get((iface, name))
                if have is None:
                    if (iface, name) in LATER:
                        continue
                    raise RuntimeError('strigild template: %s.%s is not in the XML' % (iface, name))
                if have[:2] != (kind, sig):
                    raise RuntimeError('strigild template: %s %s.%s is %s %s in the XML, %s %s here'
                                       % (kind, iface, name, have[0], have[1], kind, sig))
                out.setdefault(iface, {}).setdefault(kind, {})[name] = sig
    return out


# ---- the clinic policy ----------------------------------------------------

def read_policy(parameters):
    here = os.path.dirname(os.path.abspath(__file__))
    cp = configparser.ConfigParser(strict=False, inline_comment_prefixes=(' ;',),
                                   comment_prefixes=('#', ';'))
    for p in (parameters.get('policy'), '/etc/strigil/policy.conf',
              os.path.join(here, '..', 'policy.conf'), '/usr/share/strigil/policy.conf'):
        if p and os.path.exists(p):
            cp.read(str(p))
            break
    else:
        cp.read_string(FALLBACK_POLICY)
    pol = {'absolute_max_n': cp.getfloat('limits', 'absolute_max_n', fallback=14.0),
           'warn_fraction': cp.getfloat('limits', 'warn_fraction', fallback=0.9),
           'max_strokes': cp.getint('limits', 'max_strokes', fallback=0),
           'max_load_s': cp.getfloat('limits', 'max_load_s', fallback=0.0),
           'regions': {}, 'conditions': {}}
    for sec in cp.sections():
        kind, _, name = sec.partition(' ')
        if kind == 'region':
            pol['regions'][name] = {'cap_n': cp.getfloat(sec, 'cap_n'),
                                    'label': cp.get(sec, 'label', fallback=name),
                                    'lateral': cp.getboolean(sec, 'lateral', fallback=False),
                                    'max_strokes': cp.getint(sec, 'max_strokes', fallback=0),
                                    'max_load_s': cp.getfloat(sec, 'max_load_s', fallback=0.0)}
        elif kind in ('contraindication', 'precaution'):
            regions = cp.get(sec, 'regions', fallback='')
            pol['conditions'][name] = {
                'kind': kind, 'label': cp.get(sec, 'label', fallback=name),
                'local': cp.getboolean(sec, 'local', fallback=False),
                'override': cp.getboolean(sec, 'override', fallback=False),
                'cap_factor': cp.getfloat(sec, 'cap_factor', fallback=1.0),
                'cap_max_n': cp.getfloat(sec, 'cap_max_n', fallback=0.0),
                'session_factor': cp.getfloat(sec, 'session_factor', fallback=1.0),
                'regions': [r.strip() for r in regions.split(',') if r.strip()]}
    return pol


def parse_site(pol, site, treated=True):
    '''(region, side) of "calf:left" or "neck", checked as strigild does: a
    lateral region needs its side where it is treated (never guessed), a
    midline one takes none.'''
    name, colon, side = str(site).partition(':')
    reg = pol['regions'].get(name)
    if reg is None:
        raise err('InvalidArgument', "unknown region '%s' (not in the clinic policy)" % site)
    if colon and side not in ('left', 'right'):
        raise err('InvalidArgument', "'%s': the side of a region is 'left' or 'right' (e.g. %s:left)"
                  % (site, name))
    if colon and not reg['lateral']:
        raise err('InvalidArgument', "region %s has no sides (it is midline): write '%s' without ':%s'"
                  % (name, name, side))
    if treated and reg['lateral'] and not colon:
        raise err('InvalidArgument', 'region %s has a left and a right side: say which, %s:left or %s:right'
                  % (name, name, name))
    return name, side


def sites(pol):
    '''Manager.Regions: midline regions by name, lateral ones once per side.'''
    out = []
    for name, reg in pol['regions'].items():
        out += [name + ':left', name + ':right'] if reg['lateral'] else [name]
    return out


def applies(key, region, side):
    '''A profile key "calf" applies to both sides, "calf:left" to one.'''
    name, _, s = str(key).partition(':')
    return name == region and (not s or s == side)


def limits_for(pol, prof, site):
    '''(limit_n, reasons, winner, contraindications, precaution, max_strokes,
    max_load_s): the strictest cap and why, in the daemon's wording.'''
    region, side = parse_site(pol, site)
    reg = pol['regions'][region]
    reasons = [(pol['absolute_max_n'], 'clinic absolute maximum %.2f N' % pol['absolute_max_n']),
               (reg['cap_n'], 'region %s default %.2f N' % (region, reg['cap_n']))]
    if prof['max_force_n'] > 0:
        reasons.append((prof['max_force_n'], 'profile cap %.2f N' % prof['max_force_n']))
    for key, c in prof['region_caps_n'].items():
        if c > 0 and applies(key, region, side):
            reasons.append((c, 'profile cap for %s %.2f N' % (key, c)))
    base = min(r[0] for r in reasons)
    factor, session_factor, contra, precaution = 1.0, 1.0, [], False
    applied = []
    for c in prof['conditions']:
        name, _, where = c.partition('@')
        pc = pol['conditions'].get(name)
        if not pc or (where and not applies(where, region, side)) or \
                (pc['regions'] and region not in pc['regions']):
            continue
        if name not in applied:
            applied.append(name)
    for name in applied:
        pc = pol['conditions'][name]
        tag = ' (if overridden)' if pc['kind'] == 'contraindication' else ''
        if pc['kind'] == 'contraindication':
            contra.append(name)
        # as strigild: a precaution, or an overridden contraindication,
        # that lowers a cap flags the session
        precaution = precaution or pc['cap_factor'] < 1.0 or pc['cap_max_n'] > 0
        if pc['cap_factor'] < 1.0:
            factor *= pc['cap_factor']
            reasons.append((base * factor, '%s x%g -> %.2f N%s' % (name, pc['cap_factor'],
                                                                   base * factor, tag)))
        if pc['cap_max_n'] > 0:
            reasons.append((pc['cap_max_n'], '%s cap %.2f N%s' % (name, pc['cap_max_n'], tag)))
        session_factor *= pc['session_factor']
    winner = 0
    for i, r in enumerate(reasons):
        if r[0] <= reasons[winner][0]:
            winner = i
    strokes = [v for v in (pol['max_strokes'], reg['max_strokes'], prof['max_strokes']) if v > 0]
    loads = [v for v in (pol['max_load_s'], reg['max_load_s'], prof['max_load_s']) if v > 0]
    return (reasons[winner][0], [r[1] for r in reasons], winner, contra, precaution,
            int(min(strokes) * session_factor) if strokes else 0,
            min(loads) * session_factor if loads else 0.0)


# ---- state ------------------------------------------------------------------

class State:
    def __init__(self, parameters, xml_path):
        self.xml = xml_members(xml_path)
        self.members = offered(self.xml)
        self.level = max(v[2] for v in self.xml.values())
        self.policy = read_policy(parameters)
        self.allowed = set(ACTIONS)
        self.calibrated = bool(parameters.get('calibrated', True))
        self.allow_uncalibrated = bool(parameters.get('allow_uncalibrated', False))
        self.next_session = 1
        self.next_profile = 1
        self.instruments = {}       # path -> dict (claims, streams, session)
        self.sessions = {}          # path -> dict (strokes, violations, pauses, ...)
        self.profiles = {}          # path -> dict (the profile keys)

    def has(self, iface, name):
        return any(name in d for d in self.members.get(iface, {}).values())


def state():
    return mockobject.objects[MAIN_OBJ].sg


def obj(path):
    return mockobject.objects[str(path)]


def set_props(path, iface, values, signal=True):
    '''Sets typed properties; signal=False for the changes the daemon does
    not signal (docs/dbus-api.md), so clients see the same thing here.'''
    sigs = state().members[iface.rsplit('.', 1)[1]]['property']
    o = obj(path)
    props = {k: typed(sigs[k], v) for k, v in values.items()
             if k in sigs and not same(o.props[iface].get(k), typed(sigs[k], v))}
    if not props:
        return
    o.props[iface].update(props)
    # (not dbusmock's UpdateProperties: it cannot wrap every type, e.g. "o")
    if signal:
        o.EmitSignal(dbus.PROPERTIES_IFACE, 'PropertiesChanged', 'sa{sv}as',
                     [iface, dbus.Dictionary(props, signature='sv'), dbus.Array([], signature='s')])


def same(a, b):
    '''Equal values (NaN equals NaN: no change to signal).'''
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return a is not None and type(a) is type(b) and a == b


def prop(path, iface, name):
    return obj(path).props[iface][name]


def authorize(method):
    action = AUTH.get(method)
    if action and IFACE + action not in state().allowed:
        raise err('AccessDenied', 'Not authorized to call %s: polkit action %s%s denied.'
                  % (method, IFACE, action))


def add_object(path, iface, props, methods):
    '''A new object with this mock's members of `iface` that the XML has.'''
    st = state()
    short = iface.rsplit('.', 1)[1]
    sigs = st.members[short]
    main = mockobject.objects[MAIN_OBJ]
    if path == MAIN_OBJ:
        o = main
        o.AddProperties(iface, {k: typed(sigs['property'][k], v)
                                for k, v in props.items() if k in sigs['property']})
    else:
        main.AddObject(path, iface, {k: typed(sigs['property'][k], v)
                                     for k, v in props.items() if k in sigs['property']}, [])
        o = obj(path)
    for name, fn in methods.items():
        if name not in sigs.get('method', {}):
            continue
        o.AddMethod(iface, name, sigs['method'][name][0], sigs['method'][name][1],
                    guarded(name, fn))
    # the daemon has no writable property
    o.AddMethod(dbus.PROPERTIES_IFACE, 'Set', 'ssv', '', read_only)
    return o


def guarded(name, fn):
    def call(self, *args):
        authorize(name)
        return fn(self, *args)
    return call


def read_only(self, iface, name, value):
    raise dbus.exceptions.DBusException('Property %s is read-only.' % name,
                                        name='org.freedesktop.DBus.Error.PropertyReadOnly')


def path_list(d, pred=lambda x: True):
    return [p for p, v in d.items() if pred(v)]


def manager_changed(*names):
    st = state()
    # Sessions: only those in progress, as strigild (the history: ListSessions)
    values = {'Instruments': list(st.instruments),
              'Sessions': path_list(st.sessions, lambda s: s['live']),
              'ActiveSessions': path_list(st.sessions, lambda s: s['live']),
              'Profiles': list(st.profiles)}
    set_props(MAIN_OBJ, MANAGER, {n: values[n] for n in names})


# ---- Manager ------------------------------------------------------------------

PROFILE_KEYS = {'patient_ref': 's', 'display_name': 's', 'max_force_n': 'd',
                'region_caps_n': 'a{sd}', 'target_min_n': 'd', 'target_max_n': 'd',
                'max_strokes': 'u', 'max_load_s': 'd', 'region_max_strokes': 'a{su}',
                'region_max_seconds': 'a{sd}', 'conditions': 'as'}
PROFILE_PROPS = {'patient_ref': 'PatientRef', 'display_name': 'DisplayName',
                 'max_force_n': 'MaxForceN', 'region_caps_n': 'RegionCapsN',
                 'target_min_n': 'TargetMinN', 'target_max_n': 'TargetMaxN',
                 'max_strokes': 'MaxStrokes', 'max_load_s': 'MaxSecondsUnderLoad',
                 'region_max_strokes': 'RegionMaxStrokes',
                 'region_max_seconds': 'RegionMaxSeconds', 'conditions': 'Conditions'}


def variant_sig(v):
    '''The D-Bus type of a value received in a variant.'''
    if isinstance(v, dbus.Boolean):
        return 'b'
    for t, sig in ((dbus.String, 's'), (dbus.ObjectPath, 'o'), (dbus.Double, 'd'),
                   (dbus.UInt32, 'u'), (dbus.UInt64, 't'), (dbus.Int32, 'i'),
                   (dbus.Int64, 'x'), (dbus.Byte, 'y'), (dbus.Int16, 'n'), (dbus.UInt16, 'q')):
        if isinstance(v, t):
            return sig
    if isinstance(v, dbus.Dictionary):
        return 'a{%s}' % (v.signature or '')
    if isinstance(v, dbus.Array):
        return 'a' + (v.signature or '')
    return '?'


def apply_profile(prof, changes, skip=None):
    '''Validates every key first (all or nothing), then applies.'''
    st = state()
    pol = st.policy
    new = dict(prof)
    for k, v in changes.items():
        k = str(k)
        if k not in PROFILE_KEYS:
            raise err('InvalidArgument', "Unknown profile key '%s' (known: %s)."
                      % (k, ', '.join(PROFILE_KEYS)))
        sig = PROFILE_KEYS[k]
        if variant_sig(v) != sig:
            raise err('InvalidArgument', "Profile key '%s' must be of type %s." % (k, sig))
        new[k] = typed(sig, v)
    ref = str(new['patient_ref'])
    if not ref:
        raise err('InvalidArgument', 'A profile needs a patient_ref (a pseudonymous reference, never a name).')
    if not REF_RE.match(ref):
        raise err('InvalidArgument', 'A patient reference is 1 to 64 letters, digits, dots, '
                  'underscores or hyphens ([A-Za-z0-9._-]).')
    if any(str(p['patient_ref']) == ref for path, p in st.profiles.items() if path != skip):
        raise err('InvalidArgument', 'Another profile already uses that patient reference.')
    if len(str(new['display_name']).encode()) > 127:
        raise err('InvalidArgument', 'display name is too long (at most 127 bytes)')
    caps = [new['max_force_n']] + list(new['region_caps_n'].values())
    for c in caps:
        if not (c == c) or c < 0 or c > pol['absolute_max_n'] or (c in (float('inf'),)):
            raise err('InvalidArgument', 'A cap must be between 0 and %.2f N.' % pol['absolute_max_n'])
    for r in list(new['region_caps_n']) + list(new['region_max_strokes']) + list(new['region_max_seconds']):
        parse_site(pol, r, treated=False)
    for c in new['conditions']:
        name, _, where = str(c).partition('@')
        if name not in pol['conditions']:
            raise err('InvalidArgument', "Unknown condition '%s' (see the Manager's Conditions property)." % name)
        if where:
            if not pol['conditions'][name]['local']:
                raise err('InvalidArgument', "Condition '%s' applies everywhere and takes no region." % name)
            parse_site(pol, where, treated=False)
    if not (0 <= new['target_min_n'] <= new['target_max_n'] or new['target_max_n'] == 0):
        raise err('InvalidArgument', 'The target band needs 0 <= min <= max.')
    return new


def profile_props(p, created, modified):
    out = {PROFILE_PROPS[k]: p[k] for k in PROFILE_PROPS}
    out.update({'Id': p['id'], 'CreatedAt': created, 'ModifiedAt': modified,
                'LegacyPatientRef': False,     # the mock never stored an old-style one
                'Uuid': p.get('uuid', ''), 'ReviewState': p.get('review', '')})
    return out


def create_profile(self, properties, uid=None, review=''):
    st = state()
    blank = {'patient_ref': '', 'display_name': '', 'max_force_n': 0.0, 'region_caps_n': {},
             'target_min_n': 0.0, 'target_max_n': 0.0, 'max_strokes': 0, 'max_load_s': 0.0,
             'region_max_strokes': {}, 'region_max_seconds': {}, 'conditions': []}
    p = apply_profile(blank, properties)
    p['id'] = st.next_profile
    p['uuid'] = uid or str(uuid.uuid4())
    p['review'] = review
    st.next_profile += 1
    path = '%s/profile/%d' % (MAIN_OBJ, p['id'])
    t = now_us()
    p['created'] = t
    st.profiles[path] = p
    add_object(path, PROFILE, profile_props(p, t, t),
               {'Update': profile_update, 'Delete': profile_delete,
                'ConfirmReview': profile_confirm_review,
                'ListSessions': profile_list_sessions, 'GetRegionHistory': profile_region_history})
    mockobject.objects[MAIN_OBJ].object_manager_emit_added(path)
    manager_changed('Profiles')
    return dbus.ObjectPath(path)


def find_profile(self, ref):
    if not REF_RE.match(ref):
        raise err('InvalidArgument', "'%s' is not a patient reference ([A-Za-z0-9._-], 1 to 64)." % ref)
    for path, p in state().profiles.items():
        if str(p['patient_ref']) == ref:
            return dbus.ObjectPath(path)
    raise err('NoSuchObject', "No profile has the patient reference '%s'." % ref)


def start_session(self, inst, prof, region):
    return start(inst, prof, region, {})


def start_session_options(self, inst, prof, region, options):
    return start(inst, prof, region, options)


def start(inst_path, prof_path, region, options):
    st = state()
    inst_path, prof_path, region = str(inst_path), str(prof_path), str(region)
    for k, v in options.items():
        if k not in ('override_reason', 'note'):
            raise err('InvalidArgument', "Unknown session option '%s' (known: override_reason, note)." % k)
        if not isinstance(v, str):
            raise err('InvalidArgument', "Session option '%s' must be a string." % k)
    reason = str(options.get('override_reason', ''))
    if 'override_reason' in options and not reason:
        raise err('InvalidArgument', 'An override needs a reason (override_reason must not be empty).')
    if reason and IFACE + 'override-contraindication' not in st.allowed:
        raise err('AccessDenied', 'Not authorized to call StartSessionWithOptions with '
                  'override_reason: polkit action %soverride-contraindication denied.' % IFACE)
    inst = st.instruments.get(inst_path)
    if inst is None:
        raise err('NoSuchObject', 'No instrument at %s.' % inst_path)
    prof = st.profiles.get(prof_path)
    if prof is None:
        raise err('NoSuchObject', 'No profile at %s.' % prof_path)
    side = parse_site(st.policy, region)[1]
    if not prop(inst_path, INSTRUMENT, 'Connected'):
        raise err('Disconnected', 'Instrument %s is unplugged.' % prop(inst_path, INSTRUMENT, 'Serial'))
    if inst['session']:
        raise err('Busy', 'Instrument %s already runs a session.' % prop(inst_path, INSTRUMENT, 'Serial'))
    limit, reasons, winner, contra, precaution, max_strokes, max_load = limits_for(st.policy, prof, region)
    flags = []
    if contra:
        blocking = [c for c in contra if not reason or not st.policy['conditions'][c]['override']]
        if blocking:
            raise err('Contraindicated', 'Contraindicated for %s: %s%s.' % (
                region, ', '.join(blocking),
                '' if all(st.policy['conditions'][c]['override'] for c in blocking)
                else ' (cannot be overridden)'))
        flags.append('override')
    if not prop(inst_path, INSTRUMENT, 'CalibrationValid'):
        never = prop(inst_path, INSTRUMENT, 'CalibrationDate') == 0
        if not st.allow_uncalibrated:
            raise (err('NotCalibrated', 'The instrument has never been calibrated.') if never else
                   err('CalibrationExpired', 'The calibration of the instrument is past its due date.'))
        flags.insert(0, 'uncalibrated' if never else 'calibration-expired')
    if precaution:
        flags.append('precaution')
    sid = st.next_session
    st.next_session += 1
    path = '%s/session/%d' % (MAIN_OBJ, sid)
    s = {'id': sid, 'instrument': inst_path, 'profile': prof_path, 'live': True,
         'strokes': [], 'violations': [], 'pauses': [], 'region': region, 'side': side,
         'limit': limit, 'reasons': reasons, 'start_mono': time.monotonic(), 'paused_at': None,
         'flags': flags}
    st.sessions[path] = s
    inst['session'] = path
    add_object(path, SESSION, {
        'Id': sid, 'Instrument': inst_path, 'Profile': prof_path,
        'PatientRef': prof['patient_ref'], 'Region': region, 'Side': side,
        'State': 'running', 'StartedAt': now_us(), 'EndedAt': 0, 'StrokeCount': 0,
        'ViolationCount': 0, 'WarningCount': 0, 'SecondsUnderLoad': 0.0, 'PeakN': 0.0,
        'EffectiveLimitN': limit, 'LimitSource': reasons[winner], 'LimitReasons': reasons,
        'TargetMinN': prof['target_min_n'], 'TargetMaxN': prof['target_max_n'],
        'MaxStrokes': max_strokes, 'MaxSecondsUnderLoad': max_load, 'Flags': flags,
        'OverrideReason': reason, 'LostSamples': 0, 'LostRecords': 0,
        'Uuid': str(uuid.uuid4())},
        {'SetRegion': session_set_region, 'Pause': session_pause, 'Resume': session_resume,
         'Stop': session_stop, 'GetStrokes': lambda self: session_list(self, 'strokes'),
         'GetViolations': lambda self: session_list(self, 'violations'),
         'GetPauses': lambda self: session_list(self, 'pauses'), 'GetBursts': session_bursts})
    mockobject.objects[MAIN_OBJ].object_manager_emit_added(path)
    manager_changed('Sessions', 'ActiveSessions')
    set_props(inst_path, INSTRUMENT, {'ActiveSession': path})
    update_streaming(inst_path)
    return dbus.ObjectPath(path)


# ---- Instrument ---------------------------------------------------------------

def need_connected(path):
    if not prop(path, INSTRUMENT, 'Connected'):
        raise err('Disconnected', 'Instrument %s is unplugged; plug it in.'
                  % prop(path, INSTRUMENT, 'Serial'))


def update_streaming(path):
    inst = state().instruments[path]
    want = bool(prop(path, INSTRUMENT, 'Connected') and (inst['claims'] or inst['session']))
    if want != bool(prop(path, INSTRUMENT, 'Streaming')):
        set_props(path, INSTRUMENT, {'Streaming': want})
        if not want:
            set_props(path, INSTRUMENT, {'ForceN': float('nan')})


def inst_claim(self):
    need_connected(self.path)
    inst = state().instruments[self.path]
    inst['claims'] += 1
    set_props(self.path, INSTRUMENT, {'Claims': inst['claims']})
    update_streaming(self.path)


def inst_release(self):
    inst = state().instruments[self.path]
    if not inst['claims']:
        raise err('NotClaimed', 'You hold no claim on instrument %s.' % prop(self.path, INSTRUMENT, 'Serial'))
    inst['claims'] -= 1
    set_props(self.path, INSTRUMENT, {'Claims': inst['claims']})
    update_streaming(self.path)


def inst_tare(self):
    need_connected(self.path)
    if not prop(self.path, INSTRUMENT, 'Streaming'):
        raise err('NotClaimed', 'Instrument %s is not streaming; Claim() it or start a session first.'
                  % prop(self.path, INSTRUMENT, 'Serial'))


def inst_open_stream(self):
    need_connected(self.path)
    inst = state().instruments[self.path]
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    mine.setblocking(False)
    inst['streams'].append({'sock': mine, 'index': 0, 'dropped': 0})
    inst['claims'] += 1
    set_props(self.path, INSTRUMENT, {'Claims': inst['claims']})
    update_streaming(self.path)
    fd = dbus.types.UnixFd(theirs)
    theirs.close()
    return fd


def inst_read_point(self, seconds):
    if not 0.1 <= seconds <= 30:
        raise err('InvalidArgument', 'ReadPoint needs 0.1 to 30 seconds, got %g.' % seconds)
    if not state().instruments[self.path]['claims']:
        raise err('NotClaimed', 'ReadPoint needs your claim on the instrument: Claim() first.')
    n = int(round(seconds * prop(self.path, INSTRUMENT, 'SampleRateHz')))
    return dbus.Array([dbus.Struct((c, 1000.0, 100.0, dbus.UInt64(n)), signature='sddt')
                       for c in prop(self.path, INSTRUMENT, 'Channels')], signature='(sddt)')


def calibration_dict(path, extra=()):
    chans = list(prop(path, INSTRUMENT, 'Channels'))
    inst = state().instruments[path]
    return record([('date', 't', prop(path, INSTRUMENT, 'CalibrationDate')),
                   ('due', 't', prop(path, INSTRUMENT, 'CalibrationDue')),
                   ('technician', 's', prop(path, INSTRUMENT, 'CalibrationTechnician')),
                   ('valid', 'b', prop(path, INSTRUMENT, 'CalibrationValid')),
                   ('channels', 'as', chans), ('offset', 'ad', inst['offset']),
                   ('scale', 'ad', inst['scale'])] + list(extra))


def inst_get_calibration(self):
    return calibration_dict(self.path)


def inst_write_calibration(self, cal):
    inst = state().instruments[self.path]
    known = ('technician', 'date', 'due', 'offset', 'scale')
    for k in cal:
        if k not in known:
            raise err('InvalidArgument', "Unknown calibration key '%s' (known: %s)." % (k, ', '.join(known)))
    if not all(k in cal for k in ('technician', 'due', 'offset', 'scale')):
        raise err('InvalidArgument', 'WriteCalibration needs technician, due, offset and scale.')
    tech = str(cal['technician'])
    if not 1 <= len(tech) <= 16 or not all(33 <= ord(c) < 127 for c in tech):
        raise err('InvalidArgument', 'Technician id must be 1 to 16 printable ASCII characters without spaces.')
    date = int(cal.get('date', now_us()))
    if int(cal['due']) <= date:
        raise err('InvalidArgument', 'The due date must come after the calibration date.')
    n = len(prop(self.path, INSTRUMENT, 'Channels'))
    for k in ('offset', 'scale'):
        if len(cal[k]) != n:
            raise err('InvalidArgument', "Calibration key '%s' needs %u values (one per channel), got %u."
                      % (k, n, len(cal[k])))
    if any(not (0 < float(x) <= 1) for x in cal['scale']):
        raise err('InvalidArgument', 'Scale must be finite, > 0 and <= 1 unit per count.')
    need_connected(self.path)
    if prop(self.path, INSTRUMENT, 'CalibrationDate'):
        inst['history'].insert(0, calibration_dict(self.path, [
            ('replaced_at', 't', now_us()), ('written_at', 't', prop(self.path, INSTRUMENT, 'CalibrationDate')),
            ('actor', 's', '')]))
    inst['offset'] = [float(x) for x in cal['offset']]
    inst['scale'] = [float(x) for x in cal['scale']]
    set_props(self.path, INSTRUMENT, {'CalibrationDate': date, 'CalibrationDue': int(cal['due']),
                                      'CalibrationTechnician': tech,
                                      'CalibrationValid': date <= now_us() < int(cal['due'])})


def inst_calibration_history(self):
    return dbus.Array(state().instruments[self.path]['history'], signature='a{sv}')


def instrument_props(serial, props, calibrated):
    t = now_us()
    p = {'Serial': serial, 'Model': 'S1', 'Firmware': '1.2.3', 'Backend': 'simulated',
         'Connected': True, 'SampleRateHz': 1000, 'Channels': ['normal'],
         'CalibrationDate': t - 86400 * 1000000 if calibrated else 0,
         'CalibrationDue': t + 365 * 86400 * 1000000 if calibrated else 0,
         'CalibrationValid': calibrated, 'CalibrationTechnician': 'tech01' if calibrated else '',
         'LostSamples': 0, 'ForceN': float('nan'), 'Streaming': False, 'Claims': 0,
         'ActiveSession': '/', 'Alert': 'off', 'AlertFailures': 0, 'StrokeRule': 'contact'}
    for k, v in props.items():
        if k not in p:
            raise dbus.exceptions.DBusException('Unknown instrument property %s' % k,
                                                name='org.freedesktop.DBus.Mock.NameError')
        p[k] = v
    return p


def add_instrument(serial, props):
    st = state()
    path = '%s/instrument/%s' % (MAIN_OBJ, serial)      # serials of [A-Za-z0-9] only
    if path in st.instruments:
        raise dbus.exceptions.DBusException('instrument %s exists' % serial,
                                            name='org.freedesktop.DBus.Mock.NameError')
    p = instrument_props(serial, props, st.calibrated)
    st.instruments[path] = {'claims': 0, 'streams': [], 'session': None, 'history': [],
                            'offset': [1000.0] * len(p['Channels']),
                            'scale': [1e-4] * len(p['Channels'])}
    add_object(path, INSTRUMENT, p, {
        'Claim': inst_claim, 'Release': inst_release, 'Tare': inst_tare,
        'OpenStream': inst_open_stream, 'ReadPoint': inst_read_point,
        'GetCalibration': inst_get_calibration, 'WriteCalibration': inst_write_calibration,
        'GetCalibrationHistory': inst_calibration_history})
    main = mockobject.objects[MAIN_OBJ]
    main.object_manager_emit_added(path)
    main.EmitSignal(MANAGER, 'InstrumentAdded', 'o', [dbus.ObjectPath(path)])
    manager_changed('Instruments')
    return dbus.ObjectPath(path)


# ---- Session ------------------------------------------------------------------

def live_session(path):
    s = state().sessions[str(path)]
    if not s['live']:
        raise err('InvalidState', 'The session has ended.')
    return s


def session_time(s):
    return time.monotonic() - s['start_mono']


def session_set_region(self, region):
    st = state()
    s = live_session(self.path)
    side = parse_site(st.policy, region)[1]
    limit, reasons, winner, contra, precaution, max_strokes, max_load = limits_for(
        st.policy, st.profiles[s['profile']], region)
    if contra and 'override' not in s['flags']:
        raise err('Contraindicated', 'Contraindicated for %s: %s.' % (region, ', '.join(contra)))
    s['region'], s['side'], s['limit'], s['reasons'] = region, side, limit, reasons
    # a flag once raised stays (it is stored with the session)
    flags = s['flags'] + (['precaution'] if precaution and 'precaution' not in s['flags'] else [])
    s['flags'] = flags
    set_props(self.path, SESSION, {'Region': region, 'Side': side, 'EffectiveLimitN': limit,
                                   'LimitSource': reasons[winner], 'LimitReasons': reasons,
                                   'MaxStrokes': max_strokes, 'MaxSecondsUnderLoad': max_load,
                                   'Flags': flags})


def session_pause(self):
    s = live_session(self.path)
    if prop(self.path, SESSION, 'State') != 'running':
        raise err('InvalidState', 'The session is not running.')
    pause_begin(s, 'pause')
    set_props(self.path, SESSION, {'State': 'paused'})


def pause_begin(s, reason):
    s['paused_at'] = (session_time(s), now_us(), reason)


def pause_end(s):
    start_s, started_at, reason = s['paused_at']
    s['pauses'].append(record([('start_s', 'd', start_s), ('end_s', 'd', session_time(s)),
                               ('reason', 's', reason), ('started_at', 't', started_at),
                               ('ended_at', 't', now_us())]))
    s['paused_at'] = None


def session_resume(self):
    s = live_session(self.path)
    if prop(self.path, SESSION, 'State') == 'disconnected':
        raise err('Disconnected', 'The instrument is unplugged; plug it in to resume.')
    if prop(self.path, SESSION, 'State') != 'paused':
        raise err('InvalidState', 'The session is not paused.')
    pause_end(s)
    set_props(self.path, SESSION, {'State': 'running'})


def summary(path):
    p = obj(path).props[SESSION]
    bits = {'uncalibrated': 1, 'calibration-expired': 2, 'override': 4, 'precaution': 8}
    s = state().sessions[path]
    return record([('id', 't', p['Id']), ('state', 's', p['State']), ('region', 's', p['Region']),
                   ('started_at', 't', p['StartedAt']), ('ended_at', 't', p['EndedAt']),
                   ('strokes', 'u', p['StrokeCount']), ('violations', 'u', p['ViolationCount']),
                   ('warnings', 'u', p['WarningCount']),
                   ('seconds_under_load', 'd', p['SecondsUnderLoad']), ('peak_n', 'd', p['PeakN']),
                   ('effective_limit_n', 'd', p['EffectiveLimitN']),
                   ('flags', 'u', sum(bits.get(f, 0) for f in s['flags'])),
                   ('flag_names', 'as', s['flags']), ('lost_samples', 't', p['LostSamples']),
                   ('patient_ref', 's', p['PatientRef']), ('limit_reasons', 'as', s['reasons'])])


def session_stop(self):
    live_session(self.path)
    end_session(self.path, 'finished')
    return summary(self.path)


def end_session(path, final):
    st = state()
    s = st.sessions[path]
    s['live'] = False
    inst = st.instruments.get(s['instrument'])
    if inst is not None:
        inst['session'] = None
        set_props(s['instrument'], INSTRUMENT, {'ActiveSession': '/', 'Alert': 'off'})
        update_streaming(s['instrument'])
    if s['paused_at'] is not None:
        pause_end(s)
    # as the daemon: the stored record has no target band, and that change
    # is not signalled
    set_props(path, SESSION, {'TargetMinN': 0.0, 'TargetMaxN': 0.0}, signal=False)
    set_props(path, SESSION, {'State': final, 'EndedAt': now_us()})
    manager_changed('ActiveSessions')


def session_list(self, key):
    return dbus.Array(state().sessions[self.path][key], signature='a{sv}')


def session_bursts(self):
    out = {}
    for st in state().sessions[self.path]['strokes']:
        b = out.setdefault(int(st.get('burst', 1)), {'passes': 0, 'start_s': float(st['start_s']),
                                                     'end_s': 0.0, 'peak_n': 0.0})
        b['passes'] += 1
        b['end_s'] = float(st['end_s'])
        b['peak_n'] = max(b['peak_n'], float(st['peak_n']))
    return dbus.Array([record([('index', 'u', i), ('passes', 'u', b['passes']),
                               ('start_s', 'd', b['start_s']),
                               ('duration_s', 'd', b['end_s'] - b['start_s']),
                               ('peak_n', 'd', b['peak_n'])]) for i, b in sorted(out.items())],
                      signature='a{sv}')


# ---- Profile ------------------------------------------------------------------

def profile_update(self, properties):
    st = state()
    p = apply_profile(st.profiles[self.path], properties, skip=self.path)
    st.profiles[self.path] = p
    values = profile_props(p, p['created'], now_us())
    del values['Id'], values['CreatedAt']
    set_props(self.path, PROFILE, values)


def profile_delete(self):
    st = state()
    if any(s['live'] and s['profile'] == self.path for s in st.sessions.values()):
        raise err('Busy', 'A session in progress uses this profile; stop it first.')
    main = mockobject.objects[MAIN_OBJ]
    main.object_manager_emit_removed(self.path)
    del st.profiles[self.path]
    main.RemoveObject(self.path)
    manager_changed('Profiles')


def profile_confirm_review(self):
    state().profiles[self.path]['review'] = ''
    set_props(self.path, PROFILE, {'ReviewState': '', 'ModifiedAt': now_us()})


UUID_RE = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')


def apply_remote_profile(self, uid, properties, options):
    '''strigil-sync's way in (docs/network.md): create, replace whole or delete
    the profile with that uuid.'''
    st = state()
    uid = str(uid)
    if not UUID_RE.match(uid):
        raise err('InvalidArgument', "'%s' is not a profile uuid (36 lower-case characters)." % uid)
    review, delete = '', False
    for k, v in options.items():
        if k == 'review' and isinstance(v, dbus.String) and str(v) in ('', 'merged'):
            review = str(v)
        elif k == 'delete' and isinstance(v, dbus.Boolean):
            delete = bool(v)
        else:
            raise err('InvalidArgument', "Bad option '%s' (known: review s, delete b)." % k)
    path = next((p for p, x in st.profiles.items() if x.get('uuid') == uid), None)
    if delete:
        if path:
            profile_delete(obj(path))
        return dbus.ObjectPath(path or '/')
    if not path:
        return create_profile(self, properties, uid=uid, review=review)
    blank = {'patient_ref': '', 'display_name': '', 'max_force_n': 0.0, 'region_caps_n': {},
             'target_min_n': 0.0, 'target_max_n': 0.0, 'max_strokes': 0, 'max_load_s': 0.0,
             'region_max_strokes': {}, 'region_max_seconds': {}, 'conditions': []}
    p = apply_profile(blank, properties, skip=path)
    old = st.profiles[path]
    p.update({'id': old['id'], 'created': old['created'], 'uuid': uid, 'review': review})
    st.profiles[path] = p
    values = profile_props(p, p['created'], now_us())
    del values['Id'], values['CreatedAt']
    set_props(path, PROFILE, values)
    return dbus.ObjectPath(path)


def profile_sessions(path):
    '''Newest first.'''
    return [p for p in reversed(list(state().sessions)) if state().sessions[p]['profile'] == path]


def profile_list_sessions(self, offset, limit):
    if limit > 1000:
        raise err('InvalidArgument', 'At most 1000 sessions per page (limit %u); page with offset.' % limit)
    all_ = profile_sessions(self.path)
    return (dbus.Array([dbus.ObjectPath(p) for p in all_[offset:offset + limit]], signature='o'),
            dbus.UInt32(len(all_)))


def manager_list_sessions(self, offset, limit):
    '''Every stored session, newest first, a page at a time.'''
    if limit == 0 or limit > 1000:
        raise err('InvalidArgument', 'limit must be 1 to 1000 sessions per page.')
    all_ = list(reversed(list(state().sessions)))
    return (dbus.Array([dbus.ObjectPath(p) for p in all_[offset:offset + limit]], signature='o'),
            dbus.UInt32(len(all_)))


def manager_list_profiles(self, query, offset, limit):
    '''Live profiles by patient reference (byte order), a page at a time;
    query: reference prefix or display-name substring, ASCII case ignored.'''
    if limit == 0 or limit > 1000:
        raise err('InvalidArgument', 'limit must be 1 to 1000 profiles per page.')
    q = str(query)
    if len(q.encode('utf-8')) > 127 or any(ord(c) < 0x20 or ord(c) == 0x7f for c in q):
        raise err('InvalidArgument', 'The search text must be at most 127 bytes, without '
                  'control characters.')

    def fold(t):        # SQLite's LIKE: only ASCII letters fold
        return ''.join(c.lower() if c < '\x80' else c for c in t)
    hits = sorted(((str(p['patient_ref']), path) for path, p in state().profiles.items()
                   if not q or fold(str(p['patient_ref'])).startswith(fold(q))
                   or fold(q) in fold(str(p['display_name']))),
                  key=lambda rp: rp[0].encode('utf-8'))
    page = hits[offset:offset + limit]
    return (dbus.Array([dbus.ObjectPath(path) for _, path in page], signature='o'),
            dbus.UInt32(len(hits)))


def profile_region_history(self):
    out = []
    for path in profile_sessions(self.path):        # newest first
        s = state().sessions[path]
        regions = {}
        for st in s['strokes']:
            regions.setdefault(str(st['region']), []).append(st)
        for region, strokes in regions.items():
            name, _, side = region.partition(':')
            out.append(record([
                ('session', 'o', path), ('started_us', 't', prop(path, SESSION, 'StartedAt')),
                ('region', 's', region), ('side', 's', side), ('strokes', 'u', len(strokes)),
                ('peak_n', 'd', max(float(x['peak_n']) for x in strokes)),
                ('mean_n', 'd', sum(float(x['mean_n']) for x in strokes) / len(strokes)),
                ('impulse_ns', 'd', sum(float(x['impulse_ns']) for x in strokes)),
                ('violations', 'u', sum(1 for v in s['violations']
                                        if v['kind'] == 'exceeded' and v['region'] == region))]))
    return dbus.Array(out, signature='a{sv}')


# ---- template ---------------------------------------------------------------

def load(mock, parameters):
    xml_path = find_xml(parameters)
    # python-dbusmock registers the main object after load(); the methods
    # below find the state through it
    mockobject.objects[mock.path] = mock
    mock.sg = State(parameters, xml_path)
    st = mock.sg
    add_object(MAIN_OBJ, MANAGER, {
        'Version': parameters.get('Version', '0.1.0-mock'), 'APIVersion': st.level,
        'Instruments': [], 'Sessions': [], 'ActiveSessions': [], 'Profiles': [],
        'Regions': sites(st.policy),
        'LateralRegions': [n for n, r in st.policy['regions'].items() if r['lateral']],
        'Conditions': list(st.policy['conditions']),
        'WarnFraction': st.policy['warn_fraction'],
        'PatientIdentifierSystem': parameters.get('PatientIdentifierSystem',
                                                  'urn:strigil:patient-ref'),
        'StorageState': 'ok', 'StorageError': '', 'StoragePending': 0, 'StorageDropped': 0,
        'DamagedDatabase': '',
        'RegionDetails': [record([('name', 's', n), ('label', 's', r['label']), ('cap_n', 'd', r['cap_n']),
                                  ('max_strokes', 'u', r['max_strokes']),
                                  ('max_load_s', 'd', r['max_load_s'])])
                          for n, r in st.policy['regions'].items()],
        'ConditionDetails': [record([('name', 's', n), ('label', 's', c['label']), ('kind', 's', c['kind']),
                                     ('local', 'b', c['local']), ('override', 'b', c['override']),
                                     ('cap_factor', 'd', c['cap_factor']),
                                     ('cap_max_n', 'd', c['cap_max_n'])])
                             for n, c in st.policy['conditions'].items()]},
        {'CreateProfile': create_profile, 'StartSession': start_session,
         'StartSessionWithOptions': start_session_options, 'FindProfile': find_profile,
         'ListSessions': manager_list_sessions, 'ListProfiles': manager_list_profiles,
         'ApplyRemoteProfile': apply_remote_profile})
    for serial in parameters.get('instruments', ['SIM0001']):
        add_instrument(str(serial), {})


def need(path, kind):
    table = state().instruments if kind == 'instrument' else state().sessions
    if str(path) not in table:
        raise dbus.exceptions.DBusException('no %s %s' % (kind, path),
                                            name='org.freedesktop.DBus.Mock.NameError')
    return table[str(path)]


@dbus.service.method(MOCK_IFACE, in_signature='sa{sv}', out_signature='o')
def AddInstrument(self, serial, properties):
    '''Plugs in a new instrument SERIAL ([A-Za-z0-9] only) with the default
    properties of a calibrated 1 kHz S1, overridden by `properties`
    (e.g. {"Model": "S3", "Channels": ["normal", "shear_x", "shear_y", "tilt"]}).
    Sends InterfacesAdded and InstrumentAdded. Returns the object path.'''
    return add_instrument(serial, properties)


@dbus.service.method(MOCK_IFACE, in_signature='ssu', out_signature='')
def SetStorageState(self, state_, error, pending):
    '''Storage faults as strigild reports them (issue 16): state "ok",
    "failing" (records wait in memory, `pending` of them) or "degraded";
    sends StorageStateChanged when the state changes.'''
    if state_ not in ('ok', 'failing', 'degraded'):
        raise err('InvalidArgument', 'state is ok, failing or degraded')
    main = mockobject.objects[MAIN_OBJ]
    old = main.Get(MANAGER, 'StorageState')
    set_props(MAIN_OBJ, MANAGER, {'StorageState': state_, 'StorageError': error,
                                  'StoragePending': dbus.UInt32(pending)})
    if old != state_:
        self.EmitSignal(MANAGER, 'StorageStateChanged', 'ss', [state_, error])


@dbus.service.method(MOCK_IFACE, in_signature='o', out_signature='')
def RemoveInstrument(self, path):
    '''The instrument goes away for good (InstrumentRemoved); a session on it
    ends as interrupted.'''
    inst = need(path, 'instrument')
    if inst['session']:
        end_session(inst['session'], 'interrupted')
    st = state()
    self.object_manager_emit_removed(str(path))
    del st.instruments[str(path)]
    self.RemoveObject(str(path))
    self.EmitSignal(MANAGER, 'InstrumentRemoved', 'o', [dbus.ObjectPath(path)])
    manager_changed('Instruments')


@dbus.service.method(MOCK_IFACE, in_signature='ob', out_signature='')
def SetConnected(self, path, connected):
    '''Unplug (False) or re-plug (True): Connected flips, Alert goes off and
    streaming stops while unplugged, a running session becomes
    "disconnected" and runs again at re-plug.'''
    inst = need(path, 'instrument')
    path = str(path)
    if bool(prop(path, INSTRUMENT, 'Connected')) == bool(connected):
        return
    if not connected:
        set_props(path, INSTRUMENT, {'Alert': 'off'})
        for c in inst['streams']:
            c['sock'].close()
        inst['claims'] -= len(inst['streams'])
        inst['streams'] = []
    set_props(path, INSTRUMENT, {'Connected': bool(connected), 'Claims': inst['claims']})
    update_streaming(path)
    s = inst['session']
    if s:
        rec = state().sessions[s]
        if not connected and prop(s, SESSION, 'State') == 'running':
            pause_begin(rec, 'unplugged')
            set_props(s, SESSION, {'State': 'disconnected'})
        elif connected and prop(s, SESSION, 'State') == 'disconnected':
            pause_end(rec)
            set_props(s, SESSION, {'State': 'running'})


@dbus.service.method(MOCK_IFACE, in_signature='od', out_signature='')
def SetForce(self, path, force_n):
    '''The live ForceN of the instrument (PropertiesChanged). The daemon
    sends at most 30 a second and only while a client holds a claim.'''
    need(path, 'instrument')
    set_props(str(path), INSTRUMENT, {'ForceN': force_n})


@dbus.service.method(MOCK_IFACE, in_signature='oad', out_signature='')
def StreamSamples(self, path, forces):
    '''Sends these normal-force samples (N, at SampleRateHz) to every fd
    opened by OpenStream, in packets of at most 64 samples in the daemon's
    format (docs/dbus-api.md "Stream format"). A reader that does not keep
    up loses whole packets, counted in the next packet's `dropped`.'''
    inst = need(path, 'instrument')
    rate = float(prop(str(path), INSTRUMENT, 'SampleRateHz'))
    for c in list(inst['streams']):
        for k in range(0, len(forces), 64):
            chunk = forces[k:k + 64]
            pkt = STREAM_HDR.pack(STREAM_MAGIC, 1, len(chunk), c['index'], c['dropped'], 0) + b''.join(
                STREAM_SMP.pack((c['index'] + i) / rate, f, 0.0, 0.0, 0.0, 0, 0)
                for i, f in enumerate(chunk))
            try:
                c['sock'].send(pkt)
                c['dropped'] = 0
            except BlockingIOError:
                c['dropped'] += len(chunk)
            except OSError:         # the client closed it: its claim goes
                inst['streams'].remove(c)
                inst['claims'] -= 1
                set_props(str(path), INSTRUMENT, {'Claims': inst['claims']})
                update_streaming(str(path))
                break
            c['index'] += len(chunk)


@dbus.service.method(MOCK_IFACE, in_signature='ott', out_signature='')
def SetCalibration(self, path, date_us, due_us):
    '''Sets the instrument's calibration dates (0, 0 = never calibrated);
    CalibrationValid follows (date <= now < due).'''
    need(path, 'instrument')
    set_props(str(path), INSTRUMENT, {'CalibrationDate': date_us, 'CalibrationDue': due_us,
                                      'CalibrationValid': bool(date_us) and date_us <= now_us() < due_us})


def session_signal(path, name, rec):
    obj(path).EmitSignal(SESSION, name, 'a{sv}', [rec])


@dbus.service.method(MOCK_IFACE, in_signature='odd', out_signature='u')
def EmitStroke(self, path, peak_n, duration_s):
    '''A completed stroke of this peak and contact time in the session's
    current region: StrokeCompleted (the daemon's keys), then StrokeCount,
    SecondsUnderLoad and PeakN change. Returns the stroke's index.'''
    s = need(path, 'session')
    path = str(path)
    live_session(path)
    end = session_time(s)
    idx = len(s['strokes']) + 1
    pairs = [('index', 'u', idx), ('time', 't', now_us()), ('start_s', 'd', max(0.0, end - duration_s)),
             ('end_s', 'd', end), ('duration_s', 'd', duration_s), ('peak_n', 'd', peak_n),
             ('mean_n', 'd', peak_n * 0.5), ('impulse_ns', 'd', peak_n * 0.5 * duration_s),
             ('above_limit_s', 'd', duration_s * 0.3 if peak_n > s['limit'] else 0.0),
             ('limit_n', 'd', s['limit']), ('region', 's', s['region']), ('side', 's', s['side']),
             ('cap_n', 'd', s['limit']), ('cap_reasons', 'as', s['reasons'])]
    if state().has('Session', 'GetBursts'):
        # a contact ended by a lift, as on a model without shear: each
        # stroke is its own burst of one pass (the daemon's numbering)
        prev = int(s['strokes'][-1].get('burst', 0)) if s['strokes'] else 0
        pairs += [('burst', 'u', prev + 1), ('end', 's', 'lift')]
    rec = record(pairs)
    s['strokes'].append(rec)
    session_signal(path, 'StrokeCompleted', rec)
    p = obj(path).props[SESSION]
    set_props(path, SESSION, {'StrokeCount': idx, 'SecondsUnderLoad': float(p['SecondsUnderLoad']) + duration_s,
                              'PeakN': max(float(p['PeakN']), peak_n)})
    return dbus.UInt32(idx)


def violation(path, kind, force_n):
    s = need(path, 'session')
    path = str(path)
    live_session(path)
    rec = record([('kind', 's', kind), ('time', 't', now_us()), ('t_s', 'd', session_time(s)),
                  ('force_n', 'd', force_n), ('limit_n', 'd', s['limit']),
                  ('region', 's', s['region']), ('side', 's', s['side']), ('cap_n', 'd', s['limit']),
                  ('cap_reasons', 'as', s['reasons']),
                  ('start_s', 'd', s['strokes'][-1]['start_s'] if s['strokes'] else float('nan'))])
    s['violations'].append(rec)
    live = dbus.Dictionary(rec, signature='sv')
    live['arrival_us'] = dbus.UInt64(int(time.monotonic() * 1000000))
    return s, path, live


@dbus.service.method(MOCK_IFACE, in_signature='od', out_signature='')
def EmitLimitWarning(self, path, force_n):
    '''LimitWarning (force at 90 % of the cap): Alert "warning" on the
    instrument unless it is in "exceeded", WarningCount + 1.'''
    s, path, rec = violation(path, 'warning', force_n)
    session_signal(path, 'LimitWarning', rec)
    set_props(path, SESSION, {'WarningCount': int(prop(path, SESSION, 'WarningCount')) + 1})
    if prop(s['instrument'], INSTRUMENT, 'Alert') == 'off':
        set_props(s['instrument'], INSTRUMENT, {'Alert': 'warning'})


@dbus.service.method(MOCK_IFACE, in_signature='od', out_signature='')
def EmitLimitExceeded(self, path, force_n):
    '''LimitExceeded (force above the cap, sustained), then ViolationCount + 1
    and Alert "exceeded" on the instrument, in the daemon's order.'''
    s, path, rec = violation(path, 'exceeded', force_n)
    session_signal(path, 'LimitExceeded', rec)
    set_props(path, SESSION, {'ViolationCount': int(prop(path, SESSION, 'ViolationCount')) + 1})
    set_props(s['instrument'], INSTRUMENT, {'Alert': 'exceeded'})


@dbus.service.method(MOCK_IFACE, in_signature='o', out_signature='')
def ClearAlert(self, path):
    '''The force went back under the cap: Alert "off".'''
    need(path, 'instrument')
    set_props(str(path), INSTRUMENT, {'Alert': 'off'})


@dbus.service.method(MOCK_IFACE, in_signature='os', out_signature='')
def EmitSessionCapReached(self, path, cap):
    '''SessionCapReached("strokes" or "time"), recorded as cap_strokes /
    cap_time in GetViolations.'''
    if cap not in ('strokes', 'time'):
        raise dbus.exceptions.DBusException('cap is "strokes" or "time"',
                                            name='org.freedesktop.DBus.Mock.NameError')
    s, path, rec = violation(path, 'cap_' + cap, 0.0)
    obj(path).EmitSignal(SESSION, 'SessionCapReached', 's', [cap])


@dbus.service.method(MOCK_IFACE, in_signature='ou', out_signature='')
def SetAlertFailures(self, path, count):
    '''AlertFailures of the instrument: > 0 means the tool's own alarm cannot
    be relied on.'''
    need(path, 'instrument')
    set_props(str(path), INSTRUMENT, {'AlertFailures': count})


@dbus.service.method(MOCK_IFACE, in_signature='as', out_signature='')
def SetAllowedActions(self, actions):
    '''The polkit actions the caller is granted (default: all five); a method
    whose action is not listed fails with Error.AccessDenied.'''
    state().allowed = set(str(a) for a in actions)
