// Compiles RpcProbe.sol with the solc-js the contracts package pins, for the fork the node runs.
// usage: node compile_probe.mjs <solc-js package dir> <evm version>  -> {"abi": [...], "bytecode": "0x..."} on stdout
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const [solcDir, evmVersion] = process.argv.slice(2);
if (!solcDir || !evmVersion) {
  console.error("usage: node compile_probe.mjs <solc-js package dir> <evm version>");
  process.exit(2);
}
const solcPath = resolve(solcDir);
const solc = createRequire(join(solcPath, "package.json"))(solcPath);
const here = dirname(fileURLToPath(import.meta.url));
const input = {
  language: "Solidity",
  sources: { "RpcProbe.sol": { content: readFileSync(join(here, "RpcProbe.sol"), "utf8") } },
  settings: {
    evmVersion,
    optimizer: { enabled: true, runs: 200 },
    outputSelection: { "*": { RpcProbe: ["abi", "evm.bytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  console.error(errors.map((e) => e.formattedMessage).join("\n"));
  process.exit(1);
}
const probe = output.contracts["RpcProbe.sol"].RpcProbe;
process.stdout.write(JSON.stringify({ abi: probe.abi, bytecode: "0x" + probe.evm.bytecode.object }));
