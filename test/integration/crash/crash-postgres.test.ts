import { describe } from 'vitest';
import { crashConsistencyTest } from '../../support/crash-test.js';
import { storeBackends } from '../../support/databases.js';

const postgres = storeBackends.find((backend) => backend.name === 'postgres');

describe.skipIf(postgres?.skipReason !== undefined)(`crash consistency on ${postgres?.title}`, () => {
  if (postgres) crashConsistencyTest(postgres);
});
