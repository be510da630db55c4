// Checks that the JS SDK's Lambda client (@aws-sdk/client-lambda, what
// aws-local-stepfunctions invokes Task resources with) reads the emulator's
// Invoke answers as it reads Lambda's.
//
// Start a host of the invoke API (cargo lambda watch, or the stand-in
// fake_lambda_host.py, whose functions good/bad/broken/hang this script
// uses) and the emulator forwarding to it, with a short function timeout:
//
//     python3 emulator/tests/fake_lambda_host.py          # listening on HOST_URL
//     aws-emulator --lambda-backend HOST_URL --lambda-timeout-seconds 1
//
// then run, from the repository root (so that node_modules is found):
//
//     node emulator/tests/lambda_client_check.mjs EMULATOR_URL [HOST_URL]
//
// With HOST_URL, it also checks that each call reached the host once (no SDK
// retry of a function error). Prints one PASS/FAIL line per check and exits
// 1 if any failed.

import assert from 'node:assert/strict';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';

const [endpoint, hostUrl] = process.argv.slice(2);
if (!endpoint) {
  console.error('usage: lambda_client_check.mjs EMULATOR_URL [HOST_URL]');
  process.exit(2);
}

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const client = new LambdaClient({ region: 'us-east-1', endpoint, credentials });
const ARN = 'arn:aws:lambda:us-east-1:123456789012:function';

const encode = (value) => new TextEncoder().encode(JSON.stringify(value));
const decode = (payload) => JSON.parse(new TextDecoder().decode(payload));
const invoke = (input) => client.send(new InvokeCommand(input));

let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    console.log(`PASS ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}: ${e?.stack ?? e}`);
  }
}

async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail('expected the call to fail');
}

await check('a good function: payload parsed, no FunctionError', async () => {
  const out = await invoke({ FunctionName: 'good', Payload: encode({ paths: ['/a', '/b'] }) });
  assert.equal(out.StatusCode, 200);
  assert.equal(out.FunctionError, undefined);
  assert.equal(out.ExecutedVersion, '$LATEST');
  assert.deepEqual(decode(out.Payload), { echo: { paths: ['/a', '/b'] } });
});

await check('a full ARN with a qualifier reaches the same function', async () => {
  const out = await invoke({ FunctionName: `${ARN}:good:$LATEST`, Payload: encode(7) });
  assert.equal(out.FunctionError, undefined);
  assert.deepEqual(decode(out.Payload), { echo: 7 });
});

await check('a partial ARN reaches the same function', async () => {
  const out = await invoke({ FunctionName: '123456789012:function:good', Payload: encode(null) });
  assert.deepEqual(decode(out.Payload), { echo: null });
});

await check('an erroring function: FunctionError Unhandled and its error document', async () => {
  const out = await invoke({ FunctionName: `${ARN}:bad`, Payload: encode({}) });
  assert.equal(out.StatusCode, 200);
  assert.equal(out.FunctionError, 'Unhandled');
  assert.equal(out.$metadata.attempts, 1);
  const doc = decode(out.Payload);
  assert.equal(doc.errorType, 'BudgetExhausted');
  assert.equal(doc.errorMessage, 'the invalidation budget is spent');
});

await check('a function that outlives the timeout: Sandbox.Timedout', async () => {
  const out = await invoke({ FunctionName: 'hang', Payload: encode({}) });
  assert.equal(out.FunctionError, 'Unhandled');
  assert.equal(out.$metadata.attempts, 1);
  const doc = decode(out.Payload);
  assert.equal(doc.errorType, 'Sandbox.Timedout');
  assert.match(doc.errorMessage, /^RequestId: \S+ Error: Task timed out after \d+\.\d\d seconds$/);
});

await check('an unknown function: ResourceNotFoundException, 404, not retried', async () => {
  const e = await rejection(invoke({ FunctionName: `${ARN}:missing`, Payload: encode({}) }));
  assert.equal(e.name, 'ResourceNotFoundException');
  assert.equal(e.$metadata.httpStatusCode, 404);
  assert.equal(e.$metadata.attempts, 1);
  assert.equal(e.Type, 'User');
  assert.match(e.message, /^Function not found: arn:aws:lambda:us-east-1:123456789012:function:missing$/);
});

await check('an unusable host: ServiceException (a server fault, retried)', async () => {
  const e = await rejection(invoke({ FunctionName: 'broken', Payload: encode({}) }));
  assert.equal(e.name, 'ServiceException');
  assert.equal(e.$fault, 'server');
  assert.equal(e.$metadata.httpStatusCode, 502);
  assert.equal(e.$metadata.attempts, 3);
  assert.match(e.message, /answered HTTP 503 for function broken/);
});

await check('Event: 202 at once; DryRun: not served, a ValidationException', async () => {
  const event = await invoke({ FunctionName: 'good', InvocationType: 'Event', Payload: encode(1) });
  assert.equal(event.StatusCode, 202);
  const e = await rejection(invoke({ FunctionName: 'good', InvocationType: 'DryRun' }));
  assert.equal(e.name, 'ValidationException');
  assert.equal(e.$metadata.httpStatusCode, 400);
});

await check('the snapshot lists each invocation once, with its outcome', async () => {
  const state = await (await fetch(`${endpoint}/_emulator/state`)).json();
  const outcomes = state.lambdaInvocations.map((i) => `${i.functionName}:${i.outcome}`);
  assert.ok(outcomes.filter((o) => o === 'good:ok').length >= 3, `${outcomes}`);
  for (const expected of ['bad:BudgetExhausted', 'hang:Sandbox.Timedout', 'missing:ResourceNotFoundException']) {
    assert.equal(outcomes.filter((o) => o === expected).length, 1, `${expected} in ${outcomes}`);
  }
  assert.equal(outcomes.filter((o) => o === 'broken:ServiceException').length, 3);
  assert.ok(state.calls.Invoke >= 10, JSON.stringify(state.calls));
});

if (hostUrl) {
  await check('the host ran the erroring function once (no retry)', async () => {
    // The Event call may still be on its way: wait until the emulator has
    // finished its background work.
    const settled = await fetch(`${endpoint}/_emulator/settle`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ waitSeconds: 10 }),
    });
    assert.deepEqual(await settled.json(), { settled: true });
    const counts = await (await fetch(`${hostUrl}/counts`)).json();
    assert.equal(counts.bad, 1);
    assert.equal(counts.hang, 1);
    assert.equal(counts.good, 4, JSON.stringify(counts));
    assert.equal(counts.missing, 1);
  });
}

console.log(failed ? `${failed} check(s) failed` : 'all checks passed');
process.exit(failed ? 1 : 0);
