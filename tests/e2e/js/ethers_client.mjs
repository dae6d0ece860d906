// A standard, non-Python Ethereum client against a Colend node: ethers v6, used exactly as an app would.
// usage: node ethers_client.mjs <rpc url> <private key> <artifact.json with {abi, bytecode}>
// Deploys the contract, sends a tx, waits for its receipt, queries logs, watches an event through the
// provider's filter polling (eth_newFilter/eth_getFilterChanges), checks reverts, and prints one JSON object.
import { readFileSync } from "node:fs";
import { ContractFactory, JsonRpcProvider, Wallet } from "ethers";

const [url, key, artifactPath] = process.argv.slice(2);
if (!url || !key || !artifactPath) {
  console.error("usage: node ethers_client.mjs <rpc url> <private key> <artifact.json>");
  process.exit(2);
}
const { abi, bytecode } = JSON.parse(readFileSync(artifactPath, "utf8"));

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function expectRevert(promise) {
  try {
    await promise;
  } catch (error) {
    return { code: error.code, reason: error.reason ?? null, name: error.revert?.name ?? null,
             args: error.revert ? error.revert.args.map(String) : null };
  }
  throw new Error("expected a revert");
}

async function main() {
  // cacheTimeout -1: ethers reuses an identical request's answer for 250 ms by default, so on a chain that
  // finalises faster than that a second tx would get the first one's "pending" nonce.
  const provider = new JsonRpcProvider(url, undefined, { pollingInterval: 100, cacheTimeout: -1 });
  if (process.env.ETHERS_DEBUG) {
    // Every request and reply on stderr, for diagnosing a failing run.
    provider.on("debug", (event) => console.error(event.action, JSON.stringify(event.payload ?? event.result ?? null)));
  }
  const network = await provider.getNetwork();
  const wallet = new Wallet(key, provider);

  const factory = new ContractFactory(abi, bytecode, wallet);
  const contract = await factory.deploy();
  const deployReceipt = await withTimeout(contract.deploymentTransaction().wait(), 30_000, "deploy receipt");
  const address = await contract.getAddress();

  const tx = await contract.store(7n, 42n, "from ethers");
  const receipt = await withTimeout(tx.wait(), 30_000, "store receipt");

  const logs = await contract.queryFilter(contract.filters.Stored(wallet.address), receipt.blockNumber);

  // contract.on() makes ethers install a log filter and poll eth_getFilterChanges.
  const watched = new Promise((resolve) => {
    contract.once("Stored", (who, k, value, note) => resolve({ who, key: String(k), value: String(value), note }));
  });
  await new Promise((r) => setTimeout(r, 300)); // let the subscriber install its filter before the tx
  const second = await contract.store(8n, 43n, "watched");
  await withTimeout(second.wait(), 30_000, "second receipt");
  const event = await withTimeout(watched, 30_000, "Stored event via filter");
  contract.removeAllListeners();

  const result = {
    chainId: String(network.chainId),
    address,
    deployTx: deployReceipt.hash,
    deployBlock: deployReceipt.blockNumber,
    storeTx: receipt.hash,
    storeStatus: receipt.status,
    storeBlock: receipt.blockNumber,
    receiptLogs: receipt.logs.length,
    value: String(await contract.values(7n)),
    count: String(await contract.count()),
    logs: logs.map((log) => ({ who: log.args.who, key: String(log.args.key), value: String(log.args.value),
                               note: log.args.note, tx: log.transactionHash, block: log.blockNumber })),
    watched: event,
    reasonRevert: await expectRevert(contract.mustFail.staticCall()),
    customRevert: await expectRevert(contract.store.staticCall(1n, 5000n, "too big")),
    nonce: await provider.getTransactionCount(wallet.address, "latest"),
    balance: String(await provider.getBalance(wallet.address)),
    code: (await provider.getCode(address)).length > 2,
  };
  provider.destroy();
  process.stdout.write(JSON.stringify(result) + "\n");
}

main().catch((error) => {
  console.error(error?.stack ?? String(error));
  process.exit(1);
});
