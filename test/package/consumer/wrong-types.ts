// Must NOT compile: the installed declarations say windowFeatures returns bigint[], not a string.
import { readSignedWindow, windowFeatures } from "zkrisk";

const signed = await readSignedWindow(process.argv[2]);
export const wrong: string = windowFeatures(signed.window);
