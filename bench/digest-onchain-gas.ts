/**
 * What putting the signed candles on chain would cost, against keeping them in the publishers' archives with
 * only their digest on chain (the oracle's choice; contracts/README.md): the window's signed values as calldata,
 * and recomputing the window digest (candles/digest.ts) on chain with Poseidon.
 *
 *   npx tsx bench/digest-onchain-gas.ts     # prints the figures as JSON (about 10 s)
 *
 * The window is layout v3's (candles/digest.ts): 218 signed values (the close and volume of 85 bars, the high and
 * low of the last 24), 223 digest inputs with the header, 14 Poseidon(16) and one Poseidon(14); measured: calldata
 * 48,832 to 111,616 gas, the digest about 11.5 million (layout v2's 194 values and 199 inputs: 43,456 to 99,328
 * and about 10.3 million).
 *
 * Poseidon on chain: circomlibjs's generated EVM contracts (hand-scheduled assembly, the cheapest widely used
 * implementation) are deployed on the in-process Hardhat network and measured for 1 to 6 inputs (its generator
 * fails beyond 6: the state no longer fits the EVM's 16 reachable stack slots). The digest's full chunks need 16
 * inputs, so that cost is extrapolated with the permutation's shape, gas = a * R * t^2 + b * R * t + c (R rounds
 * of a t x t matrix product dominate), fitted to the six measured widths by least squares. Any implementation
 * that reaches 16 inputs needs memory for the state and costs more, so the estimate is a lower bound.
 */
import { Contract, ContractFactory } from "ethers";
import { poseidon } from "../crypto/poseidon";
import { SPONGE_CHUNK } from "../crypto/poseidon-sponge";
import { WINDOW_HEADER_LENGTH } from "../candles/digest";
import { WINDOW_BARS, WINDOW_RANGE_BARS } from "../candles/window";
import { inProcessChain } from "../onchain/chain";
import { calldataGas } from "./signed-update-gas";

/** Full rounds of circomlib's Poseidon. */
const ROUNDS_F = 8;
/** circomlib's partial rounds for t = 2..17 (the table of crypto/poseidon.ts, which keeps it private). */
const ROUNDS_P = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68];
/** Widest input count circomlibjs's EVM generator handles. */
const MEASURED_MAX_INPUTS = 6;

/** The figures. */
export interface DigestOnChainGas {
  /** Values a window signs: closes and volumes of every bar, highs and lows of the last WINDOW_RANGE_BARS (24). */
  signedValues: number;
  /** Elements the digest absorbs (header + signed values). */
  digestInputs: number;
  /** Poseidon calls of the sponge, by input count (chaining value included). */
  permutations: Record<number, number>;
  /** Measured execution gas of one Poseidon call (circomlibjs contract), by input count 1..6. */
  measured: Record<number, number>;
  /** Fitted gas of one 16-input call. */
  extrapolated16: number;
  /** The sponge on chain (lower bound). */
  digestGas: number;
  /** The signed values as ABI uint256 words: every byte at 16 gas (the upper bound). */
  calldataWordsGas: number;
  /** The same words when each value holds at most 8 non-zero bytes (prices and volumes at 1e-8): 24 at 4 gas. */
  calldataTypicalGas: number;
}

/** Least squares for y = X b (normal equations; the 3 x 3 system solved by Gaussian elimination). */
function leastSquares(rows: number[][], y: number[]): number[] {
  const k = rows[0].length;
  const a = Array.from({ length: k }, (_, i) =>
    Array.from({ length: k + 1 }, (_, j) => rows.reduce((s, r, n) => s + r[i] * (j < k ? r[j] : y[n]), 0)),
  );
  for (let i = 0; i < k; i++) {
    for (let r = i + 1; r < k; r++) {
      const f = a[r][i] / a[i][i];
      for (let c = i; c <= k; c++) a[r][c] -= f * a[i][c];
    }
  }
  const b = new Array<number>(k).fill(0);
  for (let i = k - 1; i >= 0; i--) {
    b[i] = (a[i][k] - a[i].slice(i + 1, k).reduce((s, v, j) => s + v * b[i + 1 + j], 0)) / a[i][i];
  }
  return b;
}

const shape = (inputs: number) => {
  const t = inputs + 1;
  const rounds = ROUNDS_F + ROUNDS_P[t - 2];
  return [rounds * t * t, rounds * t, 1];
};

/** Measure and compute the figures (one in-process chain). */
export async function measureDigestOnChainGas(): Promise<DigestOnChainGas> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { poseidonContract } = require("circomlibjs") as {
    poseidonContract: { createCode(n: number): string; generateABI(n: number): unknown[] };
  };
  const chain = await inProcessChain();
  const measured: Record<number, number> = {};
  try {
    for (let n = 1; n <= MEASURED_MAX_INPUTS; n++) {
      const factory = new ContractFactory(
        poseidonContract.generateABI(n) as never,
        poseidonContract.createCode(n),
        chain.signer,
      );
      const c = (await (await factory.deploy()).waitForDeployment()) as Contract;
      const inputs = Array.from({ length: n }, (_, i) => BigInt(i + 1) * 0x1234567890abcdef1234567890abcdefn);
      const fn = c.getFunction(`poseidon(uint256[${n}])`);
      if ((await fn.staticCall(inputs)) !== poseidon(inputs)) {
        throw new Error(`circomlibjs's ${n}-input contract disagrees with crypto/poseidon.ts`);
      }
      const tx = await fn.send(inputs);
      const receipt = await tx.wait();
      measured[n] = Number(receipt!.gasUsed) - 21_000 - calldataGas(tx.data);
    }
  } finally {
    await chain.close();
  }
  const ns = Object.keys(measured).map(Number);
  const coef = leastSquares(
    ns.map(shape),
    ns.map((n) => measured[n]),
  );
  const fitted = (n: number) => Math.round(shape(n).reduce((s, x, i) => s + x * coef[i], 0));
  const signedValues = 2 * WINDOW_BARS + 2 * WINDOW_RANGE_BARS;
  const digestInputs = WINDOW_HEADER_LENGTH + signedValues;
  const permutations: Record<number, number> = {};
  for (let i = 0; i < digestInputs; i += SPONGE_CHUNK) {
    const inputs = 1 + Math.min(SPONGE_CHUNK, digestInputs - i);
    permutations[inputs] = (permutations[inputs] ?? 0) + 1;
  }
  const extrapolated16 = fitted(16);
  const digestGas = Object.entries(permutations).reduce(
    (s, [n, count]) => s + count * (measured[Number(n)] ?? fitted(Number(n))),
    0,
  );
  return {
    signedValues,
    digestInputs,
    permutations,
    measured,
    extrapolated16,
    digestGas,
    calldataWordsGas: signedValues * 32 * 16,
    calldataTypicalGas: signedValues * (8 * 16 + 24 * 4),
  };
}

if (require.main === module) {
  measureDigestOnChainGas()
    .then((g) => console.log(JSON.stringify(g, null, 2)))
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
