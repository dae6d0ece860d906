// ethers v6 against a Colend node's group endpoint (/g/<group>), used exactly as an app would, beside the same
// node's / (its default group) and a group the node does not hold.
// usage: node ethers_group.mjs <url of /> <url of /g/<group>> <url of an unknown group> <private key>
// Sends a tx through the group's endpoint, waits for its receipt, reads the tx, its block and the block's receipts
// (eth_getBlockReceipts by number and by hash) at both endpoints, and prints one JSON object.
import { JsonRpcProvider, Network, Wallet } from "ethers";

const [rootUrl, groupUrl, unknownUrl, key] = process.argv.slice(2);
if (!rootUrl || !groupUrl || !unknownUrl || !key) {
  console.error("usage: node ethers_group.mjs <root url> <group url> <unknown group url> <private key>");
  process.exit(2);
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// What one endpoint says about a tx and its block, in raw JSON-RPC shape, so two endpoints compare exactly.
async function reads(provider, txHash, blockNumber, blockHash) {
  return {
    chainId: String((await provider.getNetwork()).chainId),
    tx: await provider.send("eth_getTransactionByHash", [txHash]),
    receipt: await provider.send("eth_getTransactionReceipt", [txHash]),
    block: await provider.send("eth_getBlockByNumber", [blockNumber, true]),
    blockReceipts: await provider.send("eth_getBlockReceipts", [blockNumber]),
    blockReceiptsByHash: await provider.send("eth_getBlockReceipts", [blockHash]),
  };
}

async function main() {
  const options = { pollingInterval: 100, cacheTimeout: -1 };
  const group = new JsonRpcProvider(groupUrl, undefined, options);
  const root = new JsonRpcProvider(rootUrl, undefined, options);
  const wallet = new Wallet(key, group);
  const sent = await wallet.sendTransaction({ to: wallet.address, value: 0n });
  const receipt = await withTimeout(sent.wait(), 30_000, "receipt at the group endpoint");
  const blockNumber = "0x" + receipt.blockNumber.toString(16);
  const formatted = await group.getTransaction(sent.hash);

  const network = await group.getNetwork();
  const unknown = new JsonRpcProvider(unknownUrl, undefined, { staticNetwork: Network.from(network.chainId) });
  let refused = null;
  try {
    await unknown.send("eth_chainId", []);
  } catch (error) {
    refused = { code: error.code, status: error.info?.responseStatus ?? null,
                body: error.info?.responseBody ? JSON.parse(error.info.responseBody) : null };
  }
  const result = {
    txHash: sent.hash,
    status: receipt.status,
    blockNumber: receipt.blockNumber,
    formattedBlockNumber: formatted.blockNumber,
    group: await reads(group, sent.hash, blockNumber, receipt.blockHash),
    root: await reads(root, sent.hash, blockNumber, receipt.blockHash),
    refused,
  };
  for (const provider of [group, root, unknown]) provider.destroy();
  process.stdout.write(JSON.stringify(result) + "\n");
}

main().catch((error) => {
  console.error(error?.stack ?? String(error));
  process.exit(1);
});
