// Executes state machine runs with aws-local-stepfunctions and streams what happens, for as
// long as its stdin is open: local-run starts it once and hands it every execution, since
// starting Node and loading the interpreter costs more than an execution.
//
// Reads one JSON object per line on stdin: {run, definition, input, context, clockUrl?,
// retryIntervalMs?, validate?}. Writes one JSON object per line on stdout, tagged with its `run`: every
// execution event of the interpreter, then {"type":"Result", ...}. Runs go side by side.
//
// The interpreter runs Lambda tasks itself, but not what this definition needs beyond them, so
// this driver adds three things through the interpreter's documented overrides:
// - Task states: every Task goes through a local handler. A Lambda function ARN is invoked with
//   @aws-sdk/client-lambda (as the interpreter would: AWS_ENDPOINT_URL_LAMBDA), and an AWS SDK
//   integration (arn:aws:states:::aws-sdk:<service>:<action>) is called the way Step Functions
//   calls it: PascalCase parameters to the service's API, errors named <Service>.<Error>.
// - $$.State: the interpreter's context object has no State, so `$$.State.RetryCount` would
//   fail; the driver keeps one per run, counting the retries of the state being run.
// - Virtual time (clockUrl set): Wait states take no time; instead the emulator's clock (its
//   POST /_emulator/clock) is moved on by what each Wait would have waited, before the next
//   Task runs, so invalidations complete as they would in real time and no test waits.
import { StateMachine } from 'aws-local-stepfunctions';
import { LambdaClient, InvokeCommand } from '@aws-sdk/client-lambda';
import * as codepipeline from '@aws-sdk/client-codepipeline';

import { createInterface } from 'node:readline';

const emit = (run, event) => process.stdout.write(JSON.stringify({ ...event, run }) + '\n');

// --- $$.State, kept from the interpreter's own events.
// The interpreter reports StateEntered and StateRetried through an event logger it makes per
// run; wrapping the logger's two methods (version 3.0.0, pinned in package.json) is the one
// place where the state being run and its retries are known in time. Each run's State object
// travels in its context, which the interpreter passes to `execute` as given.
const execute = StateMachine.prototype.execute;
StateMachine.prototype.execute = function (runInput, options, cleanup) {
  const state = options.runOptions?.context?.State;
  const logger = options.eventLogger;
  if (state) {
    const entered = logger.dispatchStateEnteredEvent.bind(logger);
    logger.dispatchStateEnteredEvent = (name, type, stateInput) => {
      Object.assign(state, { Name: name, EnteredTime: new Date().toISOString(), RetryCount: 0 });
      if (type === 'Wait') waitInputs.set(state, stateInput);
      entered(name, type, stateInput);
    };
    const retried = logger.dispatchStateRetriedEvent.bind(logger);
    logger.dispatchStateRetriedEvent = (...args) => {
      state.RetryCount += 1;
      retried(...args);
    };
  }
  return execute.call(this, runInput, options, cleanup);
};
/** The input of each run's Wait state being run, by the run's State object. */
const waitInputs = new WeakMap();

// --- Virtual time.
/** The seconds a Wait state would wait, from its definition and its input. */
function waitSeconds(state, stateInput) {
  const at = (path) => path.replace(/^\$\.?/, '').split('.').filter(Boolean).reduce((value, key) => value?.[key], stateInput);
  if (state.Seconds !== undefined) return state.Seconds;
  if (state.SecondsPath) return Number(at(state.SecondsPath));
  const until = state.Timestamp ?? at(state.TimestampPath);
  return Math.max(0, (new Date(until).getTime() - Date.now()) / 1000);
}

/** A run's clock: what its Wait states would have waited, passed on to the emulator. */
function virtualClock(clockUrl, definition, state) {
  let pendingSeconds = 0;
  return {
    waitTimeOverrides: new Proxy({}, {
      get(_, stateName) {
        pendingSeconds += waitSeconds(definition.States[stateName], waitInputs.get(state));
        return 0;
      },
    }),
    async passTime() {
      if (pendingSeconds === 0) return;
      const advanceSeconds = pendingSeconds;
      pendingSeconds = 0;
      const answer = await fetch(clockUrl, { method: 'POST', body: JSON.stringify({ advanceSeconds }) });
      if (!answer.ok) throw new Error(`the emulator's clock refused to move: HTTP ${answer.status}`);
    },
  };
}

// --- Tasks.
const lambda = new LambdaClient({});
async function invokeFunction(functionArn, payload) {
  const answer = await lambda.send(new InvokeCommand({
    FunctionName: functionArn,
    Payload: new TextEncoder().encode(JSON.stringify(payload)),
  }));
  const result = answer.Payload ? JSON.parse(new TextDecoder().decode(answer.Payload)) : null;
  if (answer.FunctionError) {
    // As the interpreter names a function error: Retry and Catch match `name`.
    const error = new Error(`${result?.errorType}: ${result?.errorMessage}`);
    error.name = result?.errorType ?? 'Lambda.Unknown';
    throw error;
  }
  return result;
}

const sdkClients = { codepipeline: () => new codepipeline.CodePipelineClient({}) };
const camel = (value) => Array.isArray(value)
  ? value.map(camel)
  : value && typeof value === 'object'
    ? Object.fromEntries(Object.entries(value).map(([key, inner]) => [key[0].toLowerCase() + key.slice(1), camel(inner)]))
    : value;
const pascal = (value) => Array.isArray(value)
  ? value.map(pascal)
  : value && typeof value === 'object'
    ? Object.fromEntries(Object.entries(value).filter(([key]) => key !== '$metadata').map(([key, inner]) => [key[0].toUpperCase() + key.slice(1), pascal(inner)]))
    : value;
/** A Step Functions AWS SDK integration: arn:aws:states:::aws-sdk:<service>:<action>. */
async function callService(resource, parameters) {
  const [, service, action] = resource.match(/^arn:aws:states:::aws-sdk:([a-z0-9]+):([A-Za-z0-9]+)$/) ?? [];
  const client = sdkClients[service]?.();
  const Command = service && codepipeline[`${action[0].toUpperCase()}${action.slice(1)}Command`];
  if (!client || !Command) {
    const error = new Error(`the local run has no handler for ${resource}`);
    error.name = 'States.Runtime';
    throw error;
  }
  try {
    return pascal(await client.send(new Command(camel(parameters))));
  } catch (failure) {
    const error = new Error(failure.message);
    error.name = `${service === 'codepipeline' ? 'CodePipeline' : service}.${failure.name}`;
    throw error;
  }
}

// --- Runs.
async function runOne({ run, definition, input, context, clockUrl, retryIntervalMs, validate = true }) {
  const state = { Name: undefined, EnteredTime: undefined, RetryCount: 0 };
  const clock = clockUrl ? virtualClock(clockUrl, definition, state) : undefined;
  const taskResourceLocalHandlers = new Proxy({}, {
    get(_, stateName) {
      const resource = definition.States[stateName]?.Resource;
      return async (taskInput) => {
        await clock?.passTime();
        return resource.startsWith('arn:aws:states:::aws-sdk:')
          ? callService(resource, taskInput)
          : invokeFunction(resource, taskInput);
      };
    },
  });
  const retryIntervalOverrides = retryIntervalMs === undefined
    ? undefined
    : new Proxy({}, { get: () => retryIntervalMs });

  const machine = machineFor(definition, validate);
  const execution = machine.run(input, {
    context: { ...context, State: state },
    overrides: { taskResourceLocalHandlers, waitTimeOverrides: clock?.waitTimeOverrides, retryIntervalOverrides },
  });
  const events = (async () => {
    for await (const event of execution.eventLogs) emit(run, event);
  })();
  try {
    const output = await execution.result;
    await events;
    emit(run, { type: 'Result', status: 'SUCCEEDED', output });
  } catch (error) {
    await events;
    // A failed execution rejects with ExecutionError; the state's own error is its cause.
    const failure = error.name === 'ExecutionError' && error.cause ? error.cause : error;
    emit(run, { type: 'Result', status: 'FAILED', error: failure.name, cause: failure.message });
  }
}

/**
 * One interpreter StateMachine per definition text (and choice of validation). Constructing one
 * validates the definition with asl-validator, about a second of CPU; every run of a local run
 * has the same definition, so it is validated once, and the machine, which keeps no state of
 * its own between runs, serves them all. `validate: false` skips it where the caller has
 * validated the file already (the tests: scripts/test runs asl-validator on it first).
 */
const machines = new Map();
function machineFor(definition, validate) {
  const key = `${validate}:${JSON.stringify(definition)}`;
  if (!machines.has(key)) {
    machines.set(key, new StateMachine(definition, { validationOptions: { noValidate: !validate } }));
  }
  return machines.get(key);
}

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue;
  const request = JSON.parse(line);
  runOne(request).catch((error) =>
    emit(request.run, { type: 'Result', status: 'FAILED', error: 'States.Runtime', cause: String(error) }));
}
