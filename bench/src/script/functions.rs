//! One step per function, in the order the script runs them: each measures the function's
//! operation (and the other paths it serves) and adds it to the results.

use std::sync::atomic::Ordering::Relaxed;

use super::Bench;
use crate::measure::{self, FLOOR, Function, measure};
use crate::{events, inbox, live, provision, search};

/// A function measured on one operation whose events differ only by their number.
struct Plain {
    name: &'static str,
    event: fn(usize) -> Vec<u8>,
    operation: &'static str,
}

/// The functions whose step is only their operation (the contact page; the channel, whose
/// first read asks Twilio's Senders API and the rest are served from the cache, as a warm
/// function serves an organization for TEMPLATE_CACHE_SECONDS; …).
const PLAIN: &[Plain] = &[
    Plain {
        name: "presign-upload",
        event: |_| events::presign_upload(),
        operation: "presign upload",
    },
    Plain {
        name: "list-contacts",
        event: |_| events::list_contacts(),
        operation: "contact page",
    },
    Plain {
        name: "channel",
        event: |_| events::channel(),
        operation: "channel status with sender health (cached)",
    },
    Plain {
        name: "contact-indexer",
        event: events::contact_renamed,
        operation: "contact renamed (indexer)",
    },
    Plain {
        name: "live-publisher",
        event: |i| events::status_ticks(i, 10),
        operation: live::TICKS_OPERATION,
    },
];

impl Bench {
    /// The hello-world floor, then the functions with nothing but their operation.
    pub(super) async fn floor_and_plain_functions(&mut self) -> Result<(), String> {
        eprintln!("measuring the hello-world floor");
        let floor = Function::binary(FLOOR, self.bin_dir.join("hello-floor"));
        let measured = measure(
            &floor,
            &self.options,
            |_| br#"{"hello":"world"}"#.to_vec(),
            None,
        );
        self.results.push(measured.await?);
        for plain in PLAIN {
            eprintln!("measuring {}", plain.name);
            let function = self.function(plain.name);
            let measured = measure(&function, &self.options, plain.event, Some(plain.operation));
            self.results.push(measured.await?);
        }
        eprintln!(
            "  the Event API stub took {} publishes ({} events)",
            self.event_api.publishes.load(Relaxed),
            self.event_api.events.load(Relaxed)
        );
        Ok(())
    }

    /// media-url: a link's GET, and the HEAD Twilio checks it with first.
    pub(super) async fn media_links(&mut self) -> Result<(), String> {
        eprintln!("measuring media-url");
        let function = self.function("media-url");
        let key = self.resources.sent_media_key.clone();
        let mut media = measure(
            &function,
            &self.options,
            |_| events::media_link("GET", &key),
            Some("media link GET"),
        )
        .await?;
        let (head, _) = measure::extra(&function, &self.options, "media link HEAD", 20, |_| {
            events::media_link("HEAD", &key)
        })
        .await?;
        media.extra_usage.push(head);
        self.results.push(media);
        Ok(())
    }

    /// send-message, canned-responses, then send-worker on the messages sent.
    pub(super) async fn sends(&mut self) -> Result<(), String> {
        eprintln!("measuring send-message");
        let send = measure(
            &self.function("send-message"),
            &self.options,
            |i| events::send(&format!("Benchmark message {i}")),
            Some("send"),
        )
        .await?;
        let mut message_ids = send.message_ids.clone().into_iter();
        self.results.push(send);
        eprintln!("measuring canned-responses");
        let canned = self.function("canned-responses");
        let measured = super::agents::canned(&canned, &self.options).await?;
        self.results.push(measured);
        eprintln!("measuring send-worker");
        let worker = measure(
            &self.function("send-worker"),
            &self.options,
            |_| events::worker_job(&message_ids.next().unwrap_or_default()),
            Some("worker run"),
        )
        .await?;
        self.results.push(worker);
        Ok(())
    }

    /// list-messages: an empty poll, and the conversation's page, whose sent messages (id,
    /// Twilio sid) are returned for the status callbacks.
    pub(super) async fn conversations(&mut self) -> Result<Vec<(String, String)>, String> {
        eprintln!("measuring list-messages");
        let function = self.function("list-messages");
        let cursor = ulid::Ulid::new().to_string();
        let mut poll = measure(
            &function,
            &self.options,
            |_| events::empty_poll(&cursor),
            Some("empty poll"),
        )
        .await?;
        let (page, pages) =
            measure::extra(&function, &self.options, "conversation page", 20, |_| {
                events::conversation_page()
            })
            .await?;
        let sent = pages
            .first()
            .and_then(measure::api_body)
            .and_then(|page| page["messages"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|m| {
                Some((
                    m["id"].as_str()?.to_owned(),
                    m["twilio_message_sid"].as_str()?.to_owned(),
                ))
            })
            .collect();
        poll.extra_usage.push(page);
        self.results.push(poll);
        Ok(sent)
    }

    /// twilio-webhook: inbound messages, status callbacks of the `sent` messages, and forged
    /// webhooks, each refused (403) after the checks that need no secret (the first reads the
    /// secret again, a rotated token; the next ones within 10 s do not).
    pub(super) async fn webhooks(&mut self, sent: Vec<(String, String)>) -> Result<(), String> {
        eprintln!("measuring twilio-webhook");
        let function = self.function("twilio-webhook");
        let mut webhook = measure(
            &function,
            &self.patient,
            |i| events::inbound(&events::message_sid(), &format!("Reply {i}")),
            Some("inbound message"),
        )
        .await?;
        let mut sent = sent.into_iter();
        let (status, _) = measure::extra(&function, &self.options, "status callback", 20, |_| {
            let (id, sid) = sent.next().unwrap_or_default();
            events::status_callback(&id, &sid, "delivered")
        })
        .await?;
        let (forged, _) = measure::extra_refused(
            &function,
            &self.options,
            "forged webhook (403)",
            20,
            403,
            |_| events::forged_inbound(&events::message_sid()),
        )
        .await?;
        webhook.extra_usage.extend([status, forged]);
        self.results.push(webhook);
        Ok(())
    }

    /// inbox: the benchmark organization's page, a read, the typing hint, drafts and presence;
    /// then the page of an organization of 20,000 contacts with 5,000 conversations.
    pub(super) async fn inbox(&mut self, read_up_to: &str) -> Result<(), String> {
        eprintln!("measuring inbox");
        let function = self.function("inbox");
        let options = &self.options;
        let mut inbox = measure(
            &function,
            options,
            |_| events::inbox_page(events::ORG),
            Some("inbox page"),
        )
        .await?;
        let (read, _) = measure::extra(
            &function,
            options,
            "read (mark read up to a message)",
            20,
            |_| events::mark_read(read_up_to),
        )
        .await?;
        // The typing hint: the read above (or the warm-up) sent the indicator; the 20 measured
        // come while it is up (one failed conditional PutItem each), as a burst of keys does.
        let (typing, _) =
            measure::extra(&function, options, "typing hint (indicator up)", 20, |_| {
                events::typing()
            })
            .await?;
        if self.twilio.indicator_count() == 0 {
            return Err("no read receipt or typing indicator reached the Twilio stub".into());
        }
        inbox.extra_usage.extend([read, typing]);
        inbox
            .extra_usage
            .extend(super::agents::drafts(&function, options).await?);
        let (presence, _) = measure::extra(&function, options, live::PRESENCE_OPERATION, 20, |i| {
            events::presence(if i % 2 == 0 { "viewing" } else { "composing" })
        })
        .await?;
        inbox.extra_usage.push(presence);
        eprintln!(
            "filling an organization with {} contacts and {} conversations",
            inbox::CONTACTS,
            inbox::CONVERSATIONS
        );
        inbox::fill(&self.sdk, &self.resources).await?;
        let big = inbox::organization();
        let label = format!(
            "inbox page, {} contacts, {} conversations",
            inbox::CONTACTS,
            inbox::CONVERSATIONS
        );
        let (big_page, _) = measure::extra(&function, &self.patient, &label, 3, |_| {
            events::inbox_page(&big)
        })
        .await?;
        inbox.extra_usage.push(big_page);
        self.results.push(inbox);
        Ok(())
    }

    /// A contact's erasure, once nothing else needs the conversation: the CRM deletes the
    /// benchmark contact; the indexer sees contacts removed and queues their erasure; the
    /// worker erases the conversation a page (100 messages) per job.
    pub(super) async fn erasure(&mut self) -> Result<(), String> {
        eprintln!("measuring a contact's erasure");
        let indexer = self.function("contact-indexer");
        let (removed, _) = measure::extra(
            &indexer,
            &self.options,
            "contact removed (indexer)",
            5,
            events::contact_removed,
        )
        .await?;
        self.add_to("contact-indexer", [removed]);
        provision::delete_contact(&self.sdk, &self.resources).await?;
        // The warm-up and these erase 300 messages: full pages from 150 invocations up.
        let (erased, _) = measure::extra(
            &self.function("send-worker"),
            &self.patient,
            "erasure job (100 messages)",
            2,
            |_| events::erasure_job(),
        )
        .await?;
        self.add_to("send-worker", [erased]);
        Ok(())
    }

    /// Contact search at 1,000 and 20,000 contacts: the first page of each search.
    pub(super) async fn search(&mut self) -> Result<(), String> {
        let function = self.function("list-contacts");
        for size in [1_000, 20_000] {
            eprintln!("filling the search index with {size} contacts");
            search::fill(&self.sdk, &self.resources, size).await?;
            let org = search::organization(size);
            for (what, entry) in search::SEARCHES {
                let label = format!("search, {size} contacts, {what} ({entry:?})");
                let (usage, _) = measure::extra(&function, &self.patient, &label, 3, |_| {
                    events::search_contacts(&org, entry)
                })
                .await?;
                self.add_to("list-contacts", [usage]);
            }
        }
        Ok(())
    }
}
