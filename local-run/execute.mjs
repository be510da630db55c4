// Executes one state machine run with aws-local-stepfunctions and streams what happens.
//
// Reads one JSON object on stdin: {definition, input, context, waitTimeOverrides?}. Writes one
// JSON object per line on stdout: every execution event of the interpreter, then
// {"type":"Result", ...}. Lambda Task resources are invoked through the interpreter's own Lambda
// client, which finds the local endpoint through AWS_ENDPOINT_URL_LAMBDA.
import { StateMachine } from 'aws-local-stepfunctions';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { definition, input, context, waitTimeOverrides } = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const emit = (event) => process.stdout.write(JSON.stringify(event) + '\n');

const machine = new StateMachine(definition);
const execution = machine.run(input, {
  context,
  overrides: waitTimeOverrides ? { waitTimeOverrides } : undefined,
});

const events = (async () => {
  for await (const event of execution.eventLogs) emit(event);
})();

try {
  const output = await execution.result;
  await events;
  emit({ type: 'Result', status: 'SUCCEEDED', output });
} catch (error) {
  await events;
  // A failed execution rejects with ExecutionError; the state's own error is its cause.
  const failure = error.name === 'ExecutionError' && error.cause ? error.cause : error;
  emit({ type: 'Result', status: 'FAILED', error: failure.name, cause: failure.message });
}
