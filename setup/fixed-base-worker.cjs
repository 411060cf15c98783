// Worker thread of the fixed-base multiplier (fixed-base.ts): multiplies the bn128 generator of G1 or G2 by many
// scalars and answers with the affine points in the byte form the .ptau and .zkey files store (little-endian,
// Montgomery: "LEM").
//
// Method: a windowed fixed-base table. For a window of c bits, row w holds d * 2^(c*w) * G for d = 1 .. 2^c - 1, in
// affine form; a scalar is the sum over its windows of one table entry each, so a product costs ceil(254 / c) mixed
// additions instead of the ~380 doublings and additions of a variable-base multiplication. The curve arithmetic is
// ffjavascript's own wasm (wasmcurves), on a memory this worker owns.
//
// Protocol. workerData: { code: Uint8Array (the wasm module), pointers: { g1: pG1gen, g2: pG2gen }, windows: { g1, g2 } }.
// Request: { id, group: "g1" | "g2", scalars: Uint8Array (n * 32 bytes, each scalar little-endian, < r; zero gives
// the point at infinity, stored as zeros), uncompressed?: boolean }.
// Answer: { id, points: Uint8Array (n * 64 for G1, n * 128 for G2), uncompressed?: Uint8Array (the same points in
// snarkjs's hashing form, big-endian and not Montgomery, asked for with `uncompressed`) } or { id, error }.
/* global WebAssembly */
"use strict";
const { parentPort, workerData } = require("node:worker_threads");

const SCALAR_BYTES = 32;
const SCALAR_BITS = 254;
const PAGE = 65536;

/** Bytes of one affine (2 coordinates) and one Jacobian (3 coordinates) point, per group. */
const SIZES = { g1: { affine: 64, jacobian: 96 }, g2: { affine: 128, jacobian: 192 } };

const memory = new WebAssembly.Memory({ initial: 64 });
const wasm = new WebAssembly.Instance(new WebAssembly.Module(workerData.code), { env: { memory } }).exports;

// The wasm code allocates its temporaries above the pointer stored at address 0; every buffer here is taken below
// it and the pointer is moved past it, as ffjavascript's own allocator does.
let u32 = new Uint32Array(memory.buffer);
const heapStart = (u32[0] + 63) & ~63;

/** Grow the memory so that `bytes` are free above the heap pointer (the wasm code's temporaries live there). */
function ensureFree(bytes) {
  const need = u32[0] + bytes;
  if (need > memory.buffer.byteLength) memory.grow(Math.ceil((need - memory.buffer.byteLength) / PAGE));
  u32 = new Uint32Array(memory.buffer);
}

/** Take the `bytes` from `top` (the current heap pointer) and move the pointer past them; returns the new pointer. */
function reserve(top, bytes) {
  const end = top + ((bytes + 63) & ~63);
  u32[0] = top;
  ensureFree(end - top);
  u32[0] = end;
  return end;
}

/** Tables, built on first use: { window, address } per group, laid out one after the other from heapStart. */
const tables = {};
let tablesEnd = heapStart;

function table(group) {
  if (tables[group]) return tables[group];
  const c = workerData.windows[group];
  const { affine, jacobian } = SIZES[group];
  const rows = Math.ceil(SCALAR_BITS / c);
  const perRow = (1 << c) - 1;
  const count = rows * perRow;
  const address = tablesEnd;
  const scratch = reserve(address, count * affine);
  const jac = scratch;
  const base = reserve(jac, count * jacobian);
  const next = base + jacobian;
  reserve(base, 2 * jacobian);
  const add = wasm[`${group}m_add`];
  const copy = wasm[`${group}m_copy`];
  copy(workerData.pointers[group], base);
  for (let w = 0; w < rows; w++) {
    const row = jac + w * perRow * jacobian;
    copy(base, row);
    for (let d = 1; d < perRow; d++) add(row + (d - 1) * jacobian, base, row + d * jacobian);
    // base <- 2^c * base, for the next row
    add(row + (perRow - 1) * jacobian, base, next);
    copy(next, base);
  }
  // No entry is the point at infinity (d >= 1 and G has prime order), so the batch inversion is well defined.
  ensureFree(2 * count * jacobian);
  wasm[`${group}m_batchToAffine`](jac, count, address);
  tablesEnd = scratch;
  reserve(tablesEnd, 0);
  tables[group] = { window: c, perRow, rows, address };
  return tables[group];
}

function multiply(group, scalars, uncompressed) {
  const t = table(group);
  const { affine, jacobian } = SIZES[group];
  const n = scalars.length / SCALAR_BYTES;
  const acc = tablesEnd;
  const out = reserve(acc, n * jacobian);
  reserve(out, n * affine);
  const addMixed = wasm[`${group}m_addMixed`];
  const zero = wasm[`${group}m_zero`];
  // A scalar copied into 4 spare bytes, so a window that starts near the top reads zeros above the scalar.
  const padded = new Uint8Array(SCALAR_BYTES + 4);
  const view = new DataView(padded.buffer);
  const mask = (1 << t.window) - 1;
  for (let i = 0; i < n; i++) {
    padded.set(scalars.subarray(i * SCALAR_BYTES, (i + 1) * SCALAR_BYTES));
    const p = acc + i * jacobian;
    zero(p);
    for (let w = 0; w < t.rows; w++) {
      const bit = w * t.window;
      const d = (view.getUint32(bit >>> 3, true) >>> (bit & 7)) & mask;
      if (d !== 0) {
        addMixed(p, t.address + (w * t.perRow + d - 1) * affine, p);
      }
    }
  }
  // The wasm batch conversion leaves the point at infinity as zeros and inverts the others together.
  ensureFree(2 * n * jacobian);
  wasm[`${group}m_batchToAffine`](acc, n, out);
  const points = new Uint8Array(memory.buffer, out, n * affine).slice();
  let hashed;
  if (uncompressed) {
    wasm[`${group}m_batchLEMtoU`](out, n, acc);
    hashed = new Uint8Array(memory.buffer, acc, n * affine).slice();
  }
  reserve(tablesEnd, 0);
  return { points, uncompressed: hashed };
}

parentPort.on("message", (msg) => {
  try {
    const result = multiply(msg.group, msg.scalars, msg.uncompressed === true);
    const transfer = [result.points.buffer];
    if (result.uncompressed) transfer.push(result.uncompressed.buffer);
    parentPort.postMessage({ id: msg.id, ...result }, transfer);
  } catch (err) {
    parentPort.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
  }
});
