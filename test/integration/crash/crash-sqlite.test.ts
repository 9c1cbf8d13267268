import { describe } from 'vitest';
import { crashConsistencyTest } from '../../support/crash-test.js';
import { storeBackends } from '../../support/databases.js';

const sqlite = storeBackends.find((backend) => backend.name === 'sqlite');

describe('crash consistency on SQLite', () => {
  if (sqlite) crashConsistencyTest(sqlite);
});
