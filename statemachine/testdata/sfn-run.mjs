// Runs the real state machine definition with aws-local-stepfunctions,
// sending each Lambda task to the Go handlers that the Go test serves.
// Usage: node sfn-run.mjs DEFINITION.json HANDLERS_URL < input.json
// The handler for a function named f is HANDLERS_URL/f.
// Prints {"status","output","error","cause","states"} as JSON.
import { readFileSync } from 'node:fs';

// aws-local-stepfunctions wants Node 22; Node 20 lacks only this.
if (!Promise.withResolvers) {
  Promise.withResolvers = function () {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}

const { StateMachine } = await import('aws-local-stepfunctions');
const [defPath, handlers] = process.argv.slice(2);
let text = readFileSync(defPath, 'utf8');
// What SAM's DefinitionSubstitutions do on deploy: ${PollFunctionArn} is
// the ARN of a function named poll, and so on.
text = text.replace(/\$\{([A-Za-z]+)FunctionArn\}/g, (_, name) => `arn:aws:lambda:us-east-1:123456789012:function:${name.toLowerCase()}`);
const definition = JSON.parse(text);
const input = JSON.parse(readFileSync(0, 'utf8'));

// Each task goes to the Go handler named by its FunctionName, and comes back
// the way the lambda:invoke integration returns it: under Payload, or as an
// error named by the Go error's type, with Lambda's JSON error as the cause.
async function invoke(params) {
  const fn = params.FunctionName.split(':').pop();
  const res = await fetch(`${handlers}/${fn}`, { method: 'POST', body: JSON.stringify(params.Payload) });
  const body = await res.json();
  if (body.errorType) {
    const err = new Error(JSON.stringify({ errorMessage: body.errorMessage, errorType: body.errorType }));
    err.name = body.errorType;
    throw err;
  }
  return { Payload: body, StatusCode: 200 };
}

// States by type, those inside a Map's ItemProcessor included.
function statesOf(states, type) {
  return Object.entries(states).flatMap(([n, s]) => [
    ...(s.Type === type ? [n] : []),
    ...(s.ItemProcessor ? statesOf(s.ItemProcessor.States, type) : []),
  ]);
}
const tasks = statesOf(definition.States, 'Task');
const waits = statesOf(definition.States, 'Wait');
const machine = new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } });
const execution = machine.run(input, {
  overrides: {
    taskResourceLocalHandlers: Object.fromEntries(tasks.map((n) => [n, invoke])),
    waitTimeOverrides: Object.fromEntries(waits.map((n) => [n, 0])),
    retryIntervalOverrides: Object.fromEntries(tasks.map((n) => [n, 0])),
  },
});
const states = [];
const logs = (async () => {
  for await (const ev of execution.eventLogs) {
    if (ev.type === 'StateEntered') states.push(ev.state.name);
  }
})();
let out;
try {
  out = { status: 'SUCCEEDED', output: await execution.result };
} catch (e) {
  out = { status: 'FAILED', error: e.name, cause: e.message };
}
await logs.catch(() => {});
out.states = states;
console.log(JSON.stringify(out));
