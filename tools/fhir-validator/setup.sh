#!/usr/bin/env bash
# Installs the FHIR validator used by the test suite: Medplum's validator (npm ci from the
# committed package-lock.json) and the HL7 mCODE STU4 package (its StructureDefinitions),
# checked against the sha256 of the published tarball. Idempotent; needs node >= 20 and npm.
set -euo pipefail
cd "$(dirname "$0")"
MCODE_VERSION="4.0.0"
MCODE_SHA256="6bdb93934e2c0a859198e8c1c21eccb28915c73535d18c75c515c03bba9c45de"

if [ ! -d node_modules/@medplum/core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ ! -f mcode/package/package.json ]; then
  # The mCODE package declares dependencies (hl7.fhir.r4.core, US Core, ...) that are not on
  # the npm registry, so it is fetched as a tarball rather than installed as a dependency.
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack "hl7.fhir.us.mcode@$MCODE_VERSION" --silent >/dev/null)
  echo "$MCODE_SHA256  $tmp/hl7.fhir.us.mcode-$MCODE_VERSION.tgz" | sha256sum -c --quiet
  rm -rf mcode && mkdir -p mcode
  tar -xzf "$tmp/hl7.fhir.us.mcode-$MCODE_VERSION.tgz" -C mcode
fi
echo "fhir-validator: ready (medplum $(node -p "require('./node_modules/@medplum/core/package.json').version"), mCODE $MCODE_VERSION)"
