//! What the simulator adds to the operation table (`aeapi::ops`): for each operation it serves,
//! the handler that answers it and what its OpenAPI entry says (summary, XML root, example,
//! error statuses). The method, path and parameters come from `aeapi::ops`, written there once.
//! The router (`sim::router`) and the OpenAPI document (`openapi`) are both built from
//! [`ROUTES`], so a route cannot exist without its documentation or vice versa.

use std::sync::{Arc, LazyLock};

use axum::routing::{MethodRouter, get, post};

use super::state::HandoffKind;
use super::{Sim, agent, conversation, customer, profile, scripts, transfer};
use crate::aeapi::ops::{self, Method, Operation, Param};

/// What the simulator says about one operation, keyed by its served name.
#[derive(Clone, Copy)]
pub struct RouteDoc {
    /// The operation's served name (`Operation::served_name`: fault configs, `operationId`).
    pub op: &'static str,
    pub summary: &'static str,
    /// XML root element of the 200 body ("" when the 200 has no body).
    pub root: &'static str,
    /// An example 200 body (JSON), in the reference's field order; `None`: no body.
    pub example: Option<&'static str>,
    /// Error statuses the operation answers with.
    pub errors: &'static [u16],
    /// The axum method router serving it.
    pub mount: fn() -> MethodRouter<Arc<Sim>>,
}

/// One served operation: its row of the operation table joined with the simulator's own.
#[derive(Clone, Copy)]
pub struct RouteDef {
    pub op: &'static str,
    pub method: Method,
    pub path: &'static str,
    pub operation: &'static Operation,
    pub doc: &'static RouteDoc,
}

impl std::fmt::Debug for RouteDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.op, self.method.as_str(), self.path)
    }
}

impl RouteDef {
    /// The operation's parameters (from the operation table).
    pub fn params(&self) -> Vec<Param> {
        self.operation.params()
    }
}

/// Every route the simulator serves, in the order of its document. A row of `DOCS` whose
/// operation is not in the table is left out; a test checks none is.
pub static ROUTES: LazyLock<Vec<RouteDef>> = LazyLock::new(|| {
    DOCS.iter()
        .filter_map(|d| {
            let operation = ops::find_served(d.op)?;
            Some(RouteDef {
                op: d.op,
                method: operation.method,
                path: operation.path,
                operation,
                doc: d,
            })
        })
        .collect()
});

/// Errors of calls on an engagement.
const ENG: &[u16] = &[400, 401, 422];
/// Errors of calls on a session.
const SESS: &[u16] = &[400, 401];
/// GET messages: also 204 when nothing is pending.
const SESS204: &[u16] = &[400, 401];
/// Calls with a site parameter.
const SITE: &[u16] = &[400, 401, 403];
/// Calls needing only a token.
const TOKEN: &[u16] = &[400, 401];
/// Calls needing no token.
const NOTOKEN: &[u16] = &[400];
/// The token endpoint (OAuth2 error shape).
const TOK: &[u16] = &[400, 401];

/// agentAvailability; its GET twin (below) takes the same parameters and answers alike.
const AGENT_AVAILABILITY: RouteDoc = RouteDoc {
    op: "agentAvailability",
    summary: "Whether an agent of the business unit (and agent group) is available.",
    root: "AgentAvailabilityResponse",
    example: Some(r#"{"availability":true,"status":"online","inHOP":true}"#),
    errors: SITE,
    mount: || post(customer::availability),
};

/// customerEngagement; its POST twin (below) takes the same parameters and answers alike.
const CUSTOMER_ENGAGEMENT: RouteDoc = RouteDoc {
    op: "customerEngagement",
    summary: "A customer starts a chat.",
    root: "EngagementResponse",
    example: Some(r#"{"engagementID":"1000000001","customerID":"5000000001","status":"ACCEPTED"}"#),
    errors: SITE,
    mount: || get(customer::engagement),
};

/// What the simulator says about each operation it serves, in the order of its document.
static DOCS: &[RouteDoc] = &[
    RouteDoc {
        op: "token",
        summary: "Issues an access token (client_credentials or password grant).",
        root: "token",
        example: Some(
            r#"{"access_token":"eyJhbGciOiJSUzI1NiJ9...","token_type":"bearer","expires_in":59,"scope":"read write","sites":["154","306"],"jti":"0b6c3f4e-5d2a-4c1b-9f3e-2a7d8c9e0f11"}"#,
        ),
        errors: TOK,
        mount: || post(agent::token),
    },
    AGENT_AVAILABILITY,
    RouteDoc {
        op: "agentAvailability.get",
        summary: "Whether an agent is available (the GET form real clients use).",
        mount: || get(customer::availability),
        ..AGENT_AVAILABILITY
    },
    CUSTOMER_ENGAGEMENT,
    RouteDoc {
        op: "customerEngagement.post",
        summary: "A customer starts a chat (POST form).",
        mount: || post(customer::engagement),
        ..CUSTOMER_ENGAGEMENT
    },
    RouteDoc {
        op: "customerMessage.get",
        summary: "The customer's pending messages.",
        root: "CustomerMessagesResponse",
        example: Some(
            r#"{"messages":[{"messageType":"chatLine","messageText":"Hello","agentId":"agent1"}]}"#,
        ),
        errors: ENG,
        mount: || get(customer::get_message),
    },
    RouteDoc {
        op: "customerMessage.post",
        summary: "A customer line, agentDataPass, or close (stateChange closed).",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(customer::post_message),
    },
    RouteDoc {
        op: "customerIsTyping",
        summary: "The customer starts or stops typing.",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(customer::typing),
    },
    RouteDoc {
        op: "acceptEngagement",
        summary: "Accepts an offered engagement, transfer or conference.",
        root: "",
        example: None,
        errors: ENG,
        mount: || agent::offer_answer_route(true),
    },
    RouteDoc {
        op: "acceptOwnership",
        summary: "Accepts a pending ownership transfer.",
        root: "AcceptOwnershipResponse",
        example: Some(r#"{"engagementId":"1000000001","reason":"","status":"accepted"}"#),
        errors: ENG,
        mount: || transfer::ownership_answer_route(true),
    },
    RouteDoc {
        op: "activePerformanceMetrics",
        summary: "Live figures of the agent's session (1 activeChats, 2 pendingOffers, 3 maxChats, 4 availableSlots, 5 finishedChats).",
        root: "ActivePerformanceMetricsResponse",
        example: Some(r#"{"result":{"1":1,"4":0},"setOrExpired":true}"#),
        errors: SESS,
        mount: || get(profile::active_performance_metrics),
    },
    RouteDoc {
        op: "agentGroups",
        summary: "Every agent group of the site.",
        root: "AgentGroupsResponse",
        example: Some(
            r#"{"agentGroups":[{"businessUnitId":"22","businessUnitName":"ConsumerSales","displayName":"General Sales","id":"1","name":"GeneralSales"}]}"#,
        ),
        errors: TOKEN,
        mount: || get(profile::agent_groups),
    },
    RouteDoc {
        op: "agentStatus",
        summary: "Sets the agent available or busy.",
        root: "",
        example: None,
        errors: SESS,
        mount: || post(agent::agent_status),
    },
    RouteDoc {
        op: "autoTransferEngagement",
        summary: "Transfers an engagement to a free agent of a group (requestType autoTransfer).",
        root: "AutoTransferEngagementResponse",
        example: Some(
            r#"{"engagementId":"1000000001","reason":"autoTransfer request sent to agent agent2","status":"pending"}"#,
        ),
        errors: ENG,
        mount: || {
            transfer::hand_over_route(HandoffKind::AutoTransfer, "AutoTransferEngagementResponse")
        },
    },
    RouteDoc {
        op: "changePassword",
        summary: "Changes the agent's password (login accepts the new one).",
        root: "",
        example: None,
        errors: SESS,
        mount: || post(profile::change_password),
    },
    RouteDoc {
        op: "closeEngagement",
        summary: "Closes an engagement (in a conference: the agent exits).",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(agent::close),
    },
    RouteDoc {
        op: "conferenceEngagement",
        summary: "Invites an agent or group into the engagement (requestType conference).",
        root: "ConferenceEngagementResponse",
        example: Some(
            r#"{"engagementId":"1000000001","reason":"conference request sent to agent agent2","status":"pending"}"#,
        ),
        errors: ENG,
        mount: || {
            transfer::hand_over_route(HandoffKind::Conference, "ConferenceEngagementResponse")
        },
    },
    RouteDoc {
        op: "conferenceMode",
        summary: "Makes a screen-mode conference participant a full participant.",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(transfer::conference_mode),
    },
    RouteDoc {
        op: "customScript.get",
        summary: "The agent's custom script (the site default until it saves one).",
        root: "CustomScriptResponse",
        example: Some(
            r#"{"customScripts":{"lastUpdateDate":0,"lng":"en-US","scripts":[{"nonEditable":true,"scriptValue":"My lines","type":"HEADER"}]},"userName":"agent1"}"#,
        ),
        errors: SESS,
        mount: || get(profile::custom_script_get),
    },
    RouteDoc {
        op: "customScript.post",
        summary: "Saves the agent's custom script.",
        root: "",
        example: None,
        errors: SESS,
        mount: || post(profile::custom_script_post),
    },
    RouteDoc {
        op: "customSettings",
        summary: "Saves agent custom settings (loginState applies at the next login).",
        root: "CustomSettingsResponse",
        example: None,
        errors: SESS,
        mount: || post(profile::custom_settings),
    },
    RouteDoc {
        op: "denyEngagement",
        summary: "Denies an offer, transfer or conference request.",
        root: "",
        example: None,
        errors: ENG,
        mount: || agent::offer_answer_route(false),
    },
    RouteDoc {
        op: "dispositions",
        summary: "Disposition categories and reasons.",
        root: "DispositionsResponse",
        example: Some(
            r#"{"categoryReasons":[{"category":{"id":"100","name":"Sales"},"reasons":[{"id":"101","name":"Purchase completed"}]}],"dispositions":{"categories":[{"label":"Sales","reasons":[{"label":"Purchase completed","value":"101"}],"value":"100"}],"scriptTree":"1","site":"306"},"message":"success"}"#,
        ),
        errors: SITE,
        mount: || get(agent::dispositions),
    },
    RouteDoc {
        op: "escalateEngagement",
        summary: "Notes an escalation (the conference sees it).",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(conversation::escalate),
    },
    RouteDoc {
        op: "startDisposition",
        summary: "The agent starts its disposition.",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(conversation::start_disposition),
    },
    RouteDoc {
        op: "extraChat",
        summary: "One slot above maxChats while enabled.",
        root: "",
        example: None,
        errors: SESS,
        mount: || post(profile::extra_chat),
    },
    RouteDoc {
        op: "followUpConversations",
        summary: "Conversations closed with followUp=true for this agent.",
        root: "FollowUpConversationsResponse",
        example: Some(
            r#"{"conversations":[{"agentGroupId":"1","businessRuleId":"","businessUnitId":"22","chatTitle":"Chat 1000000001","conversationChannel":"chat","conversationId":"1000000001","customerId":"5000000001","followUpNotes":"call back","followUpTimeout":86400000,"followUpTimestamp":1764000000000,"lastUseTimestamp":1764000000000,"launchPage":"","launchType":"proactive","siteId":"306"}]}"#,
        ),
        errors: SESS,
        mount: || get(conversation::follow_up_conversations),
    },
    RouteDoc {
        op: "followUpEngagement",
        summary: "Resumes a follow-up conversation (same engagement id): `conversationId`, else the customer's (`customerId`), else the first waiting.",
        root: "FollowUpEngagementResponse",
        example: Some(
            r#"{"conversationId":"1000000001","engagementId":"1000000001","status":"success"}"#,
        ),
        errors: ENG,
        mount: || post(conversation::follow_up_engagement),
    },
    RouteDoc {
        op: "fullScriptTree",
        summary: "Script trees of the site with every script.",
        root: "FullScriptTreeResponse",
        example: Some(
            r#"{"scriptTreesOfSite":[{"checksum":"5f1c2b3a4d5e6f70","scriptTrees":[{"id":"1","name":"Sales scripts","scriptGroupFolder":[],"scriptGroups":[{"errorMsg":"","id":"13","name":"Offers","scriptGroup":[{"automaton-id":"","automaton-type":"","command":"script-13-1","devices":"all","hotkey":"","keywords":"discount","nonEditable":"true","scriptType":"text","scriptValue":"20% off"}]}]}],"siteId":"306"}]}"#,
        ),
        errors: SITE,
        mount: || get(scripts::full_script_tree),
    },
    RouteDoc {
        op: "joinEngagement",
        summary: "Re-enters an engagement after a lost session.",
        root: "JoinEngagementResponse",
        example: Some(
            r#"{"agentId":"agent1","engagementId":"1000000001","messageText":"","status":"success"}"#,
        ),
        errors: ENG,
        mount: || post(agent::join),
    },
    RouteDoc {
        op: "loggingAgent",
        summary: "Keeps a desktop log line.",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(conversation::logging_agent),
    },
    RouteDoc {
        op: "login",
        summary: "Logs an agent in.",
        root: "AgentLoginResponse",
        example: Some(
            r#"{"loginAsAvailable":true,"publicUserId":"pub-agent1","registeredId":"1-0a1b2c3d","status":"success","userId":"agent1"}"#,
        ),
        errors: SESS,
        mount: || post(agent::login),
    },
    RouteDoc {
        op: "maskText",
        summary: "Masks a line of the stored transcript.",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(conversation::mask_text),
    },
    RouteDoc {
        op: "messages.get",
        summary: "The long-poll: pending messages per engagement, or 204.",
        root: "EngagementMessagesResponse",
        example: Some(
            r#"{"engagements":[{"id":"1000000001","messages":[{"member":"system","messageType":"newRequest","requestType":"engagement","timestamp":1764000000000}],"settings":{"agentGroupId":"1","siteId":"306"}}],"messages":[]}"#,
        ),
        errors: SESS204,
        mount: || get(agent::get_messages),
    },
    RouteDoc {
        op: "messages.post",
        summary: "Posts a line, form or typing state.",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(agent::post_messages),
    },
    RouteDoc {
        op: "ninaCoachChatTakeOver",
        summary: "The live agent takes over from the virtual assistant.",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(conversation::nina_take_over),
    },
    RouteDoc {
        op: "ninaCoachContentMetaInfo",
        summary: "What the virtual assistant knows of the chat.",
        root: "NinaCoachContentMetaInfoResponse",
        example: Some(r#"{"contentMetaInfo":"{\"intents\":[\"billing\"]}","contentVersion":"1"}"#),
        errors: ENG,
        mount: || get(conversation::nina_meta_info),
    },
    RouteDoc {
        op: "ninaCoachEscalationResolution",
        summary: "Tells the virtual assistant whether the agent helped.",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(conversation::nina_resolution),
    },
    RouteDoc {
        op: "preLoginStatus",
        summary: "Whether the agent has a live session (no token needed).",
        root: "PreLoginStatusResponse",
        example: Some(r#"{"hasActiveSession":false}"#),
        errors: NOTOKEN,
        mount: || get(agent::pre_login_status),
    },
    RouteDoc {
        op: "refuseOwnership",
        summary: "Refuses a pending ownership transfer.",
        root: "RefuseOwnershipResponse",
        example: Some(r#"{"engagementId":"1000000001","reason":"","status":"refused"}"#),
        errors: ENG,
        mount: || transfer::ownership_answer_route(false),
    },
    RouteDoc {
        op: "requestEntireTranscripts",
        summary: "Transcripts of engagements the agent handled.",
        root: "EngagementMessagesResponse",
        example: Some(
            r#"{"engagements":[{"id":"1000000001","messages":[{"chatLineReceiverType":"external","member":"customer","messageText":"hello","messageType":"chatLine","timestamp":1764000000000,"userId":"5000000001"}]}],"messages":[]}"#,
        ),
        errors: SESS,
        mount: || get(conversation::request_entire_transcripts),
    },
    RouteDoc {
        op: "resolveConversation",
        summary: "Resolves a conversation (closes it, or ends a follow-up).",
        root: "ResolveConversationResponse",
        example: Some(r#"{"resolveState":"OK","warnParams":"","warning":""}"#),
        errors: ENG,
        mount: || post(conversation::resolve_conversation),
    },
    RouteDoc {
        op: "scriptGroup",
        summary: "One script group's scripts.",
        root: "ScriptGroupResponse",
        example: Some(
            r#"{"errorMsg":"","id":"11","name":"Greetings","scriptGroup":[{"automaton-id":"","automaton-type":"","command":"script-11-1","devices":"all","hotkey":"g1","keywords":"hello,hi","nonEditable":"true","scriptType":"text","scriptValue":"Hello"}]}"#,
        ),
        errors: SESS,
        mount: || get(scripts::script_group),
    },
    RouteDoc {
        op: "scriptTree",
        summary: "Script trees of the site (groups without scripts).",
        root: "ScriptTreeResponse",
        example: Some(
            r#"{"scriptTreesOfSite":[{"checksum":"5f1c2b3a4d5e6f70","scriptTrees":[{"id":"1","name":"Sales scripts","scriptGroupFolder":[{"name":"Greetings and closings","scriptGroup":[{"errorMsg":"","id":"11","name":"Greetings","scriptGroup":[]}],"scriptGroupFolder":[]}],"scriptGroups":[]}],"siteId":"306"}]}"#,
        ),
        errors: SITE,
        mount: || get(scripts::script_tree),
    },
    RouteDoc {
        op: "sendIllegalWordNotification",
        summary: "Notes an illegal word (the conference sees it).",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(conversation::illegal_word),
    },
    RouteDoc {
        op: "settings",
        summary: "The agent's and the site's settings.",
        root: "SettingsResponse",
        example: Some(
            r#"{"busyStatuses":{"status":["Lunch"]},"cobrowseEnabled":true,"cobrowseURLs":[{"siteId":"306","url":"https://cobrowse.example.com/306"}],"enableAudibleAlert":true,"enableAudibleAlertWhenNotInFocus":true,"enableCustomScript":true,"enableMoveWindow":true,"loginStatus":"available","maxChats":1,"maxExtraSlots":1,"maxForcedChats":0,"reservedStatuses":{"status":["Away"]},"screenCaptureLog":false,"siteSettings":{"sites":[{"agentGroups":[{"displayName":"General Sales","id":"1","name":"GeneralSales","settingId":"ag-1"}],"businessUnits":[{"displayName":"Consumer Sales","id":"22","name":"ConsumerSales","settingId":"bu-22"}],"id":"306","name":"Site 306"}]},"visualIndicatorFlashing":"ALWAYS"}"#,
        ),
        errors: SESS,
        mount: || get(profile::settings),
    },
    RouteDoc {
        op: "smsCommand",
        summary: "RESEND the agent's last line, or SKIP.",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(conversation::sms_command),
    },
    RouteDoc {
        op: "summaryData",
        summary: "Live agents, slots and queue per business unit and agent group.",
        root: "SummaryDataResponse",
        example: Some(
            r#"{"businessUnits":[{"agentAttributes":[],"agentGroups":[{"agentAttributes":[],"agents":[{"availableSlots":1,"conferenceQueueSlots":0,"firstName":"agent2","id":"agent2","isAvailableForConference":true,"isAvailableForTransfer":true,"lastName":"","transferQueueSlots":0}],"availableAgents":1,"availableEngagementSlots":1,"availableSlots":1,"busyEngagementSlots":1,"canBePrioritize":true,"conferenceQueueSlots":0,"disableAgentSelection":false,"displayName":"General Sales","engagementsInQueue":0,"id":"1","isAvailableForConference":true,"isAvailableForTransfer":true,"name":"GeneralSales","totalAgents":2,"totalEngagementSlots":2,"transferQueueSlots":0}],"agents":[],"availableAgents":1,"availableEngagementSlots":1,"availableSlots":1,"busyEngagementSlots":1,"canBePrioritize":true,"conferenceQueueSlots":0,"disableAgentSelection":false,"displayName":"Consumer Sales","engagementsInQueue":0,"id":"22","isAvailableForConference":true,"isAvailableForTransfer":true,"name":"ConsumerSales","siteId":"306","totalAgents":2,"totalEngagementSlots":2,"transferQueueSlots":0}]}"#,
        ),
        errors: SESS,
        mount: || get(transfer::summary_data),
    },
    RouteDoc {
        op: "transferConferenceOptions",
        summary: "Where an engagement could be transferred or conferenced now.",
        root: "TransferConferenceOptionsResponse",
        example: Some(
            r#"{"businessUnit":[{"agentAttributes":[],"agentGroups":[],"agents":[],"availableAgents":1,"availableEngagementSlots":1,"availableSlots":1,"busyEngagementSlots":0,"canBePrioritize":true,"conferenceQueueSlots":0,"disableAgentSelection":false,"displayName":"Consumer Sales","engagementsInQueue":0,"id":"22","isAvailableForConference":true,"isAvailableForTransfer":true,"name":"ConsumerSales","siteId":"306","totalAgents":1,"totalEngagementSlots":1,"transferQueueSlots":0}]}"#,
        ),
        errors: ENG,
        mount: || get(transfer::transfer_conference_options),
    },
    RouteDoc {
        op: "transferEngagement",
        summary: "Transfers an engagement to an agent or group (requestType transfer).",
        root: "TransferEngagementResponse",
        example: Some(
            r#"{"engagementId":"1000000001","reason":"transfer request sent to agent agent2","status":"pending"}"#,
        ),
        errors: ENG,
        mount: || transfer::hand_over_route(HandoffKind::Transfer, "TransferEngagementResponse"),
    },
    RouteDoc {
        op: "transferOwnership",
        summary: "Asks a conference participant to take ownership.",
        root: "TransferOwnershipResponse",
        example: Some(
            r#"{"engagementId":"1000000001","reason":"ownership transfer request sent to agent agent2","status":"pending"}"#,
        ),
        errors: ENG,
        mount: || post(transfer::transfer_ownership),
    },
    RouteDoc {
        op: "verifySession",
        summary: "200 while the session lives, 401 after.",
        root: "",
        example: None,
        errors: SESS,
        mount: || post(agent::verify_session),
    },
    RouteDoc {
        op: "webrtcAction",
        summary: "A webRTC call state (the customer sees it).",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(conversation::webrtc_action),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_served_operation_has_exactly_one_route() {
        let ops: HashSet<&str> = DOCS.iter().map(|r| r.op).collect();
        assert_eq!(ops.len(), DOCS.len(), "duplicate operation names");
        assert_eq!(ROUTES.len(), DOCS.len(), "a route without an operation");
        for op in ops::served() {
            let r = ROUTES.iter().find(|r| r.op == op.served_name());
            let r = r.unwrap_or_else(|| panic!("{} has no route", op.name));
            assert_eq!((r.method, r.path), (op.method, op.path), "{}", op.name);
        }
        for op in ops::OPERATIONS {
            assert!(ROUTES.iter().any(|r| r.op == op.name), "{}", op.name);
        }
    }

    #[test]
    fn examples_are_json() {
        for r in ROUTES.iter() {
            if let Some(e) = r.doc.example {
                assert!(
                    serde_json::from_str::<serde_json::Value>(e).is_ok(),
                    "{r:?}"
                );
            }
        }
    }
}
