// A custom-runtime loop for the Node.js handler, under the benchmark's Runtime API: init is
// everything up to the first /next (Node's start and loading twilio), as for the Rust ones.
// (The managed nodejs runtime's own bootstrap would come on top of this.)
import { handler } from "./handler.mjs";

const api = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation`;

for (;;) {
  const next = await fetch(`${api}/next`);
  const id = next.headers.get("lambda-runtime-aws-request-id");
  const event = await next.json();
  try {
    const result = await handler(event);
    await fetch(`${api}/${id}/response`, { method: "POST", body: JSON.stringify(result) });
  } catch (error) {
    await fetch(`${api}/${id}/error`, {
      method: "POST",
      body: JSON.stringify({ errorType: error.name, errorMessage: String(error.message) }),
    });
  }
}
