#!/usr/bin/env node
// A `solc`-shaped CLI over solc-js, so py-solc-x can drive the compiler pinned in package.json.
// solc-js's own CLI prints a non-JSON line before its output, so this calls the JS API instead.
// Supports what py-solc-x uses: `--version` and `--standard-json` (input on stdin, output on stdout).
'use strict';
const fs = require('fs');
const path = require('path');

let solc;
try {
  solc = require(path.join(__dirname, 'node_modules', 'solc'));
} catch (err) {
  process.stderr.write('solc-js is not installed: run `npm ci` in ' + __dirname + '\n');
  process.exit(2);
}

const args = process.argv.slice(2);
if (args.includes('--version')) {
  process.stdout.write('solc, the solidity compiler commandline interface\nVersion: ' + solc.version() + '\n');
  process.exit(0);
}
if (!args.includes('--standard-json')) {
  process.stderr.write('solc-shim supports only --version and --standard-json\n');
  process.exit(2);
}

// Imports resolve only inside the directory named by --base-path (no network, no node_modules lookup).
const baseIndex = args.indexOf('--base-path');
const basePath = baseIndex >= 0 ? path.resolve(args[baseIndex + 1]) : process.cwd();
function findImports(importPath) {
  const full = path.resolve(basePath, importPath);
  if (!full.startsWith(basePath + path.sep)) return { error: 'import outside base path: ' + importPath };
  try {
    return { contents: fs.readFileSync(full, 'utf8') };
  } catch (err) {
    return { error: 'file not found: ' + importPath };
  }
}

const input = fs.readFileSync(0, 'utf8');
process.stdout.write(solc.compile(input, { import: findImports }));
