import fs from 'fs';
import path from 'path';

/** The query contract the Go backend tests against too (pkg/models/testdata/query_options.json). */
export interface QueryOptionsFixture {
  queryTypes: Record<string, string[]>;
  defaults: Record<string, string | number>;
  choices: Record<string, string[]>;
}

export const queryOptionsFixture: QueryOptionsFixture = JSON.parse(
  fs.readFileSync(path.resolve(__dirname, '../../pkg/models/testdata/query_options.json'), 'utf8')
);
