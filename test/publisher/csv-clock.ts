/**
 * A clock keeping pace with a candle CSV file: one minute past the close of its newest bar, read at each call. A
 * publisher over a file the test appends to then has every bar closed and is never behind the clock (signer.ts
 * `BEHIND_BARS`), whatever the bars' years.
 */
import { readFileSync } from "node:fs";
import { TWO_HOURS } from "../helpers/publisher-serve";

/** The clock of a publisher whose 2-hour source is `csv` (see the file header), ms. */
export function csvClock(csv: string): () => number {
  return () => {
    const newest = readFileSync(csv, "utf8").trimEnd().split("\n").at(-1)!;
    return Date.parse(`${newest.split(",")[0].replace(" ", "T")}Z`) + TWO_HOURS + 60_000;
  };
}
