/** The error family of the trusted setup and of the artifact manifest. */
import { ZkriskError } from "../../models/errors";

/**
 * A trusted-setup input or artifact is unusable: a ptau too small or not prepared for phase 2, a zkey that does not
 * verify against its r1cs and ptau, or an artifact whose sha256 differs from its manifest. Code `SETUP_INVALID`;
 * the message names the file and, for hash mismatches, both hashes.
 */
export class SetupError extends ZkriskError {
  constructor(message: string) {
    super("SETUP_INVALID", message);
  }
}
