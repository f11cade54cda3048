// Runs graphql-http's GraphQL-over-HTTP audit against the server at the URL given as the
// first argument and prints one JSON array: [{id, name, status, reason?, response?}, ...].
// Used by tests/graphql/test_http_spec.py; exits 0 whatever the results (the test judges).
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs URL');
  process.exit(2);
}

const results = await auditServer({ url });
const report = await Promise.all(
  results.map(async (result) => {
    const item = { id: result.id, name: result.name, status: result.status };
    if (result.status !== 'ok') {
      item.reason = result.reason;
      const response = result.response;
      item.response = {
        status: response.status,
        contentType: response.headers.get('content-type'),
        body: await response.text(),
      };
    }
    return item;
  }),
);
console.log(JSON.stringify(report));
