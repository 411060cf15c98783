/**
 * `npm run config-schema`: write the JSON Schema of the service config (`deploy/schema/service.schema.json`)
 * from its TypeBox definition (service/config-schema.ts). Run it after changing the config's schema;
 * test/service/config-schema.test.ts fails until the file matches.
 */
import { writeJsonAtomic } from "../core/io";
import { packagePath } from "../core/package-root";
import { SERVICE_CONFIG_SCHEMA_FILE, serviceConfigJsonSchema } from "../service/config-schema";

const file = packagePath(SERVICE_CONFIG_SCHEMA_FILE);
writeJsonAtomic(file, serviceConfigJsonSchema());
process.stdout.write(`wrote ${file}\n`);
