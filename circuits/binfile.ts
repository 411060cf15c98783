/**
 * Header readers for the iden3 binary files (`.ptau`, `.r1cs`), reading only the section table and the header
 * section, so a multi-gigabyte ptau costs a few small reads.
 *
 * Layout (iden3 binfileutils): 4-byte magic, u32 version, u32 section count, then per section u32 type,
 * u64 byte size and the body. All integers little-endian.
 */
import { FIELD_MODULUS } from "../crypto/field";
import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from "node:fs";
import { SetupError } from "../core/errors";

/** bn128 scalar field order r: circuits and ptau files zkrisk accepts are over this field. */
export const BN128_R = FIELD_MODULUS;
/** bn128 base field order q (the ptau header stores q). */
export const BN128_Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;

interface Section {
  type: number;
  /** Byte offset of the section body. */
  offset: number;
  /** Body size in bytes. */
  size: number;
}

function readAt(fd: number, file: string, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const got = readSync(fd, buf, 0, length, position);
  if (got !== length)
    throw new SetupError(`${file}: truncated file (wanted ${length} bytes at offset ${position})`);
  return buf;
}

function leBigInt(bytes: Buffer): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

/** An open iden3 binary file: its section table and readers of its bytes. */
interface BinFile {
  sections: Section[];
  /** The only section of `type`; throws when there is none or more than one. */
  only(type: number): Section;
  /** Body of the only section of `type`; throws when there is none or more than one. */
  section(type: number): Buffer;
  /** `length` bytes at byte `position` of the file. */
  bytes(position: number, length: number): Buffer;
}

/** Open `file`, check its magic, list its sections and hand them to `read`; the file is closed afterwards. */
function withBinFile<T>(file: string, magic: string, read: (bin: BinFile) => T): T {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (err) {
    throw new SetupError(`${file}: cannot open: ${(err as Error).message}`);
  }
  try {
    const stat = fstatSync(fd);
    // A directory opens for reading; its first read would fail with a bare EISDIR.
    if (stat.isDirectory()) throw new SetupError(`${file}: is a directory, not a file`);
    const fileSize = stat.size;
    const head = readAt(fd, file, 0, 12);
    const found = head.subarray(0, 4).toString("latin1");
    if (found !== magic) throw new SetupError(`${file}: not a .${magic} file (magic "${found}")`);
    const count = head.readUInt32LE(8);
    const sections: Section[] = [];
    let pos = 12;
    for (let i = 0; i < count; i++) {
      const sh = readAt(fd, file, pos, 12);
      const size = Number(sh.readBigUInt64LE(4));
      sections.push({ type: sh.readUInt32LE(0), offset: pos + 12, size });
      pos += 12 + size;
      if (pos > fileSize) throw new SetupError(`${file}: truncated file (section ${i} ends past the end)`);
    }
    const only = (type: number): Section => {
      const found = sections.filter((s) => s.type === type);
      if (found.length !== 1)
        throw new SetupError(`${file}: expected one section ${type}, found ${found.length}`);
      return found[0]!;
    };
    const section = (type: number): Buffer => {
      const s = only(type);
      return readAt(fd, file, s.offset, s.size);
    };
    const bytes = (position: number, length: number): Buffer => readAt(fd, file, position, length);
    return read({ sections, only, section, bytes });
  } finally {
    closeSync(fd);
  }
}

/** What a `.ptau` header says. */
export interface PtauHeader {
  /** log2 of the number of powers the file holds (it supports circuits with domain size up to 2^power). */
  power: number;
  /** Power of the ceremony the file comes from (larger than `power` for a truncated file). */
  ceremonyPower: number;
  /** Whether `powersoftau prepare phase2` has been run (section 12, the Lagrange bases, is present). */
  preparedPhase2: boolean;
}

/** Read the header of a `.ptau` file; refuses a file over another curve than bn128. */
export function readPtauHeader(file: string): PtauHeader {
  return withBinFile(file, "ptau", ({ sections, section }) => {
    const h = section(1);
    const n8 = h.readUInt32LE(0);
    const q = leBigInt(h.subarray(4, 4 + n8));
    if (q !== BN128_Q) throw new SetupError(`${file}: ptau is not over bn128 (base field ${q})`);
    return {
      power: h.readUInt32LE(4 + n8),
      ceremonyPower: h.readUInt32LE(8 + n8),
      preparedPhase2: sections.some((s) => s.type === 12),
    };
  });
}

/** Sizes of a circuit, from its `.r1cs` header. */
export interface R1csHeader {
  /** Number of constraints (after circom's simplification). */
  constraints: number;
  /** Number of wires, including the constant-one wire. */
  wires: number;
  /** Number of public outputs. */
  outputs: number;
  /** Number of public inputs. */
  publicInputs: number;
  /** Number of private inputs. */
  privateInputs: number;
}

/** Read the header of a `.r1cs` file; refuses a circuit over another field than bn128's scalar field. */
export function readR1csHeader(file: string): R1csHeader {
  return withBinFile(file, "r1cs", ({ section }) => {
    const h = section(1);
    const n8 = h.readUInt32LE(0);
    const prime = leBigInt(h.subarray(4, 4 + n8));
    if (prime !== BN128_R)
      throw new SetupError(`${file}: circuit is not over bn128's scalar field (prime ${prime})`);
    const o = 4 + n8;
    return {
      wires: h.readUInt32LE(o),
      outputs: h.readUInt32LE(o + 4),
      publicInputs: h.readUInt32LE(o + 8),
      privateInputs: h.readUInt32LE(o + 12),
      // o + 16: u64 label count (not needed)
      constraints: h.readUInt32LE(o + 24),
    };
  });
}

/** One phase-2 contribution as stored in a zkey's MPC section (10). Points are raw LEM bytes (snarkjs's layout). */
export interface ZkeyContributionRecord {
  /** delta after this contribution, G1 (64 bytes). */
  deltaAfter: Buffer;
  /** Proof-of-knowledge points g1_s, g1_sx (G1, 64 bytes each) and g2_spx (G2, 128 bytes). */
  g1S: Buffer;
  g1Sx: Buffer;
  g2Spx: Buffer;
  /** Transcript hash (64 bytes). */
  transcript: Buffer;
  /** 0 for a random contribution, 1 for a beacon. */
  type: number;
  name?: string;
  /** Beacon parameters (type 1). */
  numIterationsExp?: number;
  beaconHash?: Buffer;
}

/** The MPC section of a Groth16 zkey. */
export interface ZkeyMpcParams {
  /** snarkjs's circuit hash (blake2b-512 of the initial zkey's parameters), 64 bytes. */
  csHash: Buffer;
  contributions: ZkeyContributionRecord[];
}

/**
 * Read the phase-2 contribution list of a Groth16 `.zkey` (section 10), as snarkjs writes it in
 * `writeMPCParams` (src/zkey_utils.js): csHash (64 bytes), u32 count, then per contribution deltaAfter (G1),
 * g1_s (G1), g1_sx (G1), g2_spx (G2), transcript (64 bytes), u32 type, u32 parameter length and the parameters
 * (1: name, 2: beacon iterations exponent, 3: beacon hash).
 * @param file path of the `.zkey` file
 */
export function readZkeyMpcParams(file: string): ZkeyMpcParams {
  return withBinFile(file, "zkey", ({ section }) => {
    const b = section(10);
    const bad = (why: string) => new SetupError(`${file}: malformed MPC section: ${why}`);
    let pos = 0;
    const take = (n: number): Buffer => {
      if (pos + n > b.length) throw bad("truncated");
      const out = b.subarray(pos, pos + n);
      pos += n;
      return out;
    };
    const u32 = () => take(4).readUInt32LE(0);
    const csHash = Buffer.from(take(64));
    const count = u32();
    const contributions: ZkeyContributionRecord[] = [];
    for (let i = 0; i < count; i++) {
      const c: ZkeyContributionRecord = {
        deltaAfter: Buffer.from(take(64)),
        g1S: Buffer.from(take(64)),
        g1Sx: Buffer.from(take(64)),
        g2Spx: Buffer.from(take(128)),
        transcript: Buffer.from(take(64)),
        type: u32(),
      };
      const end = u32() + pos;
      while (pos < end) {
        const kind = take(1)[0]!;
        if (kind === 1) c.name = take(take(1)[0]!).toString("utf8");
        else if (kind === 2) c.numIterationsExp = take(1)[0]!;
        else if (kind === 3) c.beaconHash = Buffer.from(take(take(1)[0]!));
        else throw bad(`contribution ${i + 1} has unknown parameter ${kind}`);
      }
      if (pos !== end) throw bad(`contribution ${i + 1} parameters overrun`);
      contributions.push(c);
    }
    return { csHash, contributions };
  });
}

/**
 * A writer of iden3 binary files (the layout above), section by section and streaming: a section's size is patched
 * into its header when the section ends. Writes go to `path` as given; callers write to a temporary name and rename.
 */
export class BinFileWriter {
  private readonly fd: number;
  private pos = 0;
  private section: { sizeAt: number; start: number } | undefined;

  /**
   * @param path file to create (truncated if it exists)
   * @param magic the 4-character file type (`ptau`, `zkey`)
   * @param sections number of sections the file will hold
   */
  constructor(
    readonly path: string,
    magic: string,
    sections: number,
  ) {
    this.fd = openSync(path, "w");
    const head = Buffer.alloc(12);
    head.write(magic, 0, "latin1");
    head.writeUInt32LE(1, 4);
    head.writeUInt32LE(sections, 8);
    this.write(head);
  }

  /** Append bytes (to the open section, if any). */
  write(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, this.pos + done);
    this.pos += bytes.length;
  }

  /** Append a little-endian u32. */
  writeU32(value: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value, 0);
    this.write(b);
  }

  /** Append `value` as `bytes` little-endian bytes. */
  writeBigInt(value: bigint, bytes: number): void {
    const b = Buffer.alloc(bytes);
    let v = value;
    for (let i = 0; i < bytes; i++) {
      b[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    this.write(b);
  }

  /** Open section `type`; the previous one must be ended. */
  startSection(type: number): void {
    if (this.section) throw new SetupError(`${this.path}: section started inside another`);
    const head = Buffer.alloc(12);
    head.writeUInt32LE(type, 0);
    this.write(head);
    this.section = { sizeAt: this.pos - 8, start: this.pos };
  }

  /** Close the open section, writing its size. */
  endSection(): void {
    if (!this.section) throw new SetupError(`${this.path}: no section to end`);
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(this.pos - this.section.start), 0);
    writeSync(this.fd, size, 0, 8, this.section.sizeAt);
    this.section = undefined;
  }

  /** Flush to disk and close. */
  close(): void {
    if (this.section) throw new SetupError(`${this.path}: closed inside a section`);
    fsyncSync(this.fd);
    closeSync(this.fd);
  }

  /** Close without flushing, after a failure (the caller removes the file). */
  abandon(): void {
    closeSync(this.fd);
  }
}

/**
 * The body of the only section `type` of an iden3 binary file (e.g. an `.r1cs` file's constraints, section 2).
 * @param magic the file type expected (`r1cs`, `zkey`, `ptau`)
 */
export function readBinSection(file: string, magic: string, type: number): Buffer {
  return withBinFile(file, magic, ({ section }) => section(type));
}

/**
 * The `length` bytes that follow the body of the only section `type` of an iden3 binary file: the next section's
 * header and the start of its body. snarkjs's `zkey new` reads there past a ptau's tauG1 section
 * (setup/direct-zkey.ts, `hashedHPoints`).
 * @param magic the file type expected (`r1cs`, `zkey`, `ptau`)
 */
export function readPastSection(file: string, magic: string, type: number, length: number): Buffer {
  return withBinFile(file, magic, ({ only, bytes }) => {
    const s = only(type);
    return bytes(s.offset + s.size, length);
  });
}
