// The handler a team would otherwise write: a Node.js Lambda with the official twilio package
// that checks the webhook's X-Twilio-Signature and answers the contact through the Messages API.
import twilio from "twilio";

const client = twilio(process.env.TWILIO_ACCOUNT_SID, process.env.TWILIO_AUTH_TOKEN);
// The benchmark's loopback Twilio instead of https://api.twilio.com.
if (process.env.TWILIO_API_BASE_URL) client.api.baseUrl = process.env.TWILIO_API_BASE_URL;

export async function handler(event) {
  const body = event.isBase64Encoded ? Buffer.from(event.body || "", "base64").toString() : event.body || "";
  const params = Object.fromEntries(new URLSearchParams(body));
  const url = `${process.env.PUBLIC_BASE_URL}${event.rawPath}`;
  const signature = event.headers?.["x-twilio-signature"] || "";
  if (!twilio.validateRequest(process.env.TWILIO_AUTH_TOKEN, signature, url, params)) {
    return { statusCode: 403, body: "Invalid signature" };
  }
  await client.messages.create({ from: params.To, to: params.From, body: "Thanks, we got your message." });
  return { statusCode: 200, headers: { "content-type": "text/xml" }, body: "<Response/>" };
}
