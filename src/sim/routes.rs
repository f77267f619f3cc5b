//! The one route table: every operation the simulator serves, with what its OpenAPI entry
//! says about it. The router (`sim::router`) and the OpenAPI document (`openapi`) are both
//! built from [`ROUTES`], so a route cannot exist without its documentation or vice versa.
//!
//! `params` is compact: space-separated `where:name[:type][*]`, where `where` is `q` (query),
//! `b` (body: JSON or form), `f` (form only) or `h` (header), `type` defaults to `string`, and
//! `*` marks a parameter the simulator requires (400 when absent). Every operation also takes
//! `output=json|xml` (added to the document automatically).

use std::sync::Arc;

use axum::routing::{MethodRouter, get, post};

use super::state::HandoffKind;
use super::{Sim, agent, conversation, customer, profile, scripts, transfer};
use crate::aeapi::ops::Method;

/// One served operation.
#[derive(Clone, Copy)]
pub struct RouteDef {
    /// The operation's name (as in `aeapi::ops` and fault configs).
    pub op: &'static str,
    pub method: Method,
    pub path: &'static str,
    pub summary: &'static str,
    /// Parameters (see the module docs).
    pub params: &'static str,
    /// XML root element of the 200 body ("" when the 200 has no body).
    pub root: &'static str,
    /// An example 200 body (JSON), in the reference's field order; `None`: no body.
    pub example: Option<&'static str>,
    /// Error statuses the operation answers with.
    pub errors: &'static [u16],
    /// The axum method router serving it.
    pub mount: fn() -> MethodRouter<Arc<Sim>>,
}

impl std::fmt::Debug for RouteDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.op, self.method.as_str(), self.path)
    }
}

/// One parameter parsed from [`RouteDef::params`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamDef<'a> {
    /// `query`, `body`, `form` or `header`.
    pub location: &'static str,
    pub name: &'a str,
    pub kind: &'a str,
    pub required: bool,
}

impl RouteDef {
    /// The parameters of the `params` string.
    pub fn params(&self) -> Vec<ParamDef<'static>> {
        self.params
            .split_whitespace()
            .filter_map(|p| {
                let (p, required) = match p.strip_suffix('*') {
                    Some(p) => (p, true),
                    None => (p, false),
                };
                let mut parts = p.splitn(3, ':');
                let location = match parts.next()? {
                    "q" => "query",
                    "b" => "body",
                    "f" => "form",
                    "h" => "header",
                    _ => return None,
                };
                let name = parts.next()?;
                let kind = parts.next().unwrap_or("string");
                Some(ParamDef {
                    location,
                    name,
                    kind,
                    required,
                })
            })
            .collect()
    }
}

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
const AGENT_AVAILABILITY: RouteDef = RouteDef {
    op: "agentAvailability",
    method: Method::Post,
    path: "/engagementAPI/v2/customer/agentAvailability",
    summary: "Whether an agent of the business unit (and agent group) is available.",
    params: "q:siteID* q:businessUnitID* q:agentGroupID",
    root: "AgentAvailabilityResponse",
    example: Some(r#"{"availability":true,"status":"online","inHOP":true}"#),
    errors: SITE,
    mount: || post(customer::availability),
};

/// customerEngagement; its POST twin (below) takes the same parameters and answers alike.
const CUSTOMER_ENGAGEMENT: RouteDef = RouteDef {
    op: "customerEngagement",
    method: Method::Get,
    path: "/engagementAPI/v2/customer/engagement",
    summary: "A customer starts a chat.",
    params: "q:siteID* q:businessUnitID* q:agentGroupID q:InitialMessage",
    root: "EngagementResponse",
    example: Some(r#"{"engagementID":"1000000001","customerID":"5000000001","status":"ACCEPTED"}"#),
    errors: SITE,
    mount: || get(customer::engagement),
};

/// Every route the simulator serves.
pub static ROUTES: &[RouteDef] = &[
    RouteDef {
        op: "token",
        method: Method::Post,
        path: "/oauth-server/oauth/token",
        summary: "Issues an access token (client_credentials or password grant).",
        params: "h:Authorization* f:grant_type* f:username f:password",
        root: "token",
        example: Some(
            r#"{"access_token":"eyJhbGciOiJSUzI1NiJ9...","token_type":"bearer","expires_in":59,"scope":"read write","sites":["154","306"],"jti":"0b6c3f4e-5d2a-4c1b-9f3e-2a7d8c9e0f11"}"#,
        ),
        errors: TOK,
        mount: || post(agent::token),
    },
    AGENT_AVAILABILITY,
    RouteDef {
        op: "agentAvailability.get",
        method: Method::Get,
        summary: "Whether an agent is available (the GET form real clients use).",
        mount: || get(customer::availability),
        ..AGENT_AVAILABILITY
    },
    CUSTOMER_ENGAGEMENT,
    RouteDef {
        op: "customerEngagement.post",
        method: Method::Post,
        summary: "A customer starts a chat (POST form).",
        mount: || post(customer::engagement),
        ..CUSTOMER_ENGAGEMENT
    },
    RouteDef {
        op: "customerMessage.get",
        method: Method::Get,
        path: "/engagementAPI/v2/customer/message",
        summary: "The customer's pending messages.",
        params: "q:customerID* q:engagementID* q:instantResponse:boolean",
        root: "CustomerMessagesResponse",
        example: Some(
            r#"{"messages":[{"messageType":"chatLine","messageText":"Hello","agentId":"agent1"}]}"#,
        ),
        errors: ENG,
        mount: || get(customer::get_message),
    },
    RouteDef {
        op: "customerMessage.post",
        method: Method::Post,
        path: "/engagementAPI/v2/customer/message",
        summary: "A customer line, agentDataPass, or close (stateChange closed).",
        params: "b:customerID* b:engagementID* b:messageType b:messageText b:state",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(customer::post_message),
    },
    RouteDef {
        op: "customerIsTyping",
        method: Method::Post,
        path: "/engagementAPI/v2/customer/customerIsTyping",
        summary: "The customer starts or stops typing.",
        params: "q:customerID* q:engagementID* q:isTyping:boolean*",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(customer::typing),
    },
    RouteDef {
        op: "acceptEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/acceptEngagement",
        summary: "Accepts an offered engagement, transfer or conference.",
        params: "q:registeredId* b:engagementId* b:agentId",
        root: "",
        example: None,
        errors: ENG,
        mount: || agent::offer_answer_route(true),
    },
    RouteDef {
        op: "acceptOwnership",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/acceptOwnership",
        summary: "Accepts a pending ownership transfer.",
        params: "q:registeredId* b:agentId* b:engagementId* b:reason",
        root: "AcceptOwnershipResponse",
        example: Some(r#"{"engagementId":"1000000001","reason":"","status":"accepted"}"#),
        errors: ENG,
        mount: || transfer::ownership_answer_route(true),
    },
    RouteDef {
        op: "activePerformanceMetrics",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/activePerformanceMetrics",
        summary: "Live figures of the agent's session (1 activeChats, 2 pendingOffers, 3 maxChats, 4 availableSlots, 5 finishedChats).",
        params: "q:registeredId* q:agentId* q:settingIds*",
        root: "ActivePerformanceMetricsResponse",
        example: Some(r#"{"result":{"1":1,"4":0},"setOrExpired":true}"#),
        errors: SESS,
        mount: || get(profile::active_performance_metrics),
    },
    RouteDef {
        op: "agentGroups",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/agentGroups",
        summary: "Every agent group of the site.",
        params: "",
        root: "AgentGroupsResponse",
        example: Some(
            r#"{"agentGroups":[{"businessUnitId":"22","businessUnitName":"ConsumerSales","displayName":"General Sales","id":"1","name":"GeneralSales"}]}"#,
        ),
        errors: TOKEN,
        mount: || get(profile::agent_groups),
    },
    RouteDef {
        op: "agentStatus",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/agentStatus",
        summary: "Sets the agent available or busy.",
        params: "q:registeredId* b:agentId* b:state* b:reason",
        root: "",
        example: None,
        errors: SESS,
        mount: || post(agent::agent_status),
    },
    RouteDef {
        op: "autoTransferEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/autoTransferEngagement",
        summary: "Transfers an engagement to a free agent of a group (requestType autoTransfer).",
        params: "q:registeredId* b:agentId* b:engagementId* b:agentGroupId b:businessUnitId b:agentNotes",
        root: "AutoTransferEngagementResponse",
        example: Some(
            r#"{"engagementId":"1000000001","reason":"autoTransfer request sent to agent agent2","status":"pending"}"#,
        ),
        errors: ENG,
        mount: || {
            transfer::hand_over_route(HandoffKind::AutoTransfer, "AutoTransferEngagementResponse")
        },
    },
    RouteDef {
        op: "changePassword",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/changePassword",
        summary: "Changes the agent's password (login accepts the new one).",
        params: "b:agentId* b:oldPassword* b:newPassword* b:confirmNewPassword*",
        root: "",
        example: None,
        errors: SESS,
        mount: || post(profile::change_password),
    },
    RouteDef {
        op: "closeEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/closeEngagement",
        summary: "Closes an engagement (in a conference: the agent exits).",
        params: "q:registeredId* b:agentId* b:engagementId* b:dispositions:object b:followUp:boolean b:followUpAgent b:followUpNotes b:autoTransferFailed:boolean b:transferConferenceMode",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(agent::close),
    },
    RouteDef {
        op: "conferenceEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/conferenceEngagement",
        summary: "Invites an agent or group into the engagement (requestType conference).",
        params: "q:registeredId* b:agentId* b:engagementId* b:targetAgentId b:agentGroupId b:businessUnitId b:agentNotes b:prioritizeRequest:boolean",
        root: "ConferenceEngagementResponse",
        example: Some(
            r#"{"engagementId":"1000000001","reason":"conference request sent to agent agent2","status":"pending"}"#,
        ),
        errors: ENG,
        mount: || {
            transfer::hand_over_route(HandoffKind::Conference, "ConferenceEngagementResponse")
        },
    },
    RouteDef {
        op: "conferenceMode",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/conferenceMode",
        summary: "Makes a screen-mode conference participant a full participant.",
        params: "q:registeredId* b:agentId* b:engagementId*",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(transfer::conference_mode),
    },
    RouteDef {
        op: "customScript.get",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/customScript",
        summary: "The agent's custom script (the site default until it saves one).",
        params: "q:agentId*",
        root: "CustomScriptResponse",
        example: Some(
            r#"{"customScripts":{"lastUpdateDate":0,"lng":"en-US","scripts":[{"nonEditable":true,"scriptValue":"My lines","type":"HEADER"}]},"userName":"agent1"}"#,
        ),
        errors: SESS,
        mount: || get(profile::custom_script_get),
    },
    RouteDef {
        op: "customScript.post",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/customScript",
        summary: "Saves the agent's custom script.",
        params: "b:agentId* b:customScripts:object*",
        root: "",
        example: None,
        errors: SESS,
        mount: || post(profile::custom_script_post),
    },
    RouteDef {
        op: "customSettings",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/customSettings",
        summary: "Saves agent custom settings (loginState applies at the next login).",
        params: "q:agentID* q:includeLayout:boolean b:clicking b:fontSize:integer b:language b:layoutSettings b:loginState b:playSounds:boolean b:showAlerts:boolean",
        root: "CustomSettingsResponse",
        example: None,
        errors: SESS,
        mount: || post(profile::custom_settings),
    },
    RouteDef {
        op: "denyEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/denyEngagement",
        summary: "Denies an offer, transfer or conference request.",
        params: "q:registeredId* b:agentId* b:engagementId*",
        root: "",
        example: None,
        errors: ENG,
        mount: || agent::offer_answer_route(false),
    },
    RouteDef {
        op: "dispositions",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/dispositions",
        summary: "Disposition categories and reasons.",
        params: "q:registeredId* q:username* q:siteId* q:scriptTreeId*",
        root: "DispositionsResponse",
        example: Some(
            r#"{"categoryReasons":[{"category":{"id":"100","name":"Sales"},"reasons":[{"id":"101","name":"Purchase completed"}]}],"dispositions":{"categories":[{"label":"Sales","reasons":[{"label":"Purchase completed","value":"101"}],"value":"100"}],"scriptTree":"1","site":"306"},"message":"success"}"#,
        ),
        errors: SITE,
        mount: || get(agent::dispositions),
    },
    RouteDef {
        op: "escalateEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/escalateEngagement",
        summary: "Notes an escalation (the conference sees it).",
        params: "q:registeredId* b:agentId* b:engagementId* b:escalateReason",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(conversation::escalate),
    },
    RouteDef {
        op: "startDisposition",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/event/startDisposition",
        summary: "The agent starts its disposition.",
        params: "q:registeredId* b:agentId b:engagementId",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(conversation::start_disposition),
    },
    RouteDef {
        op: "extraChat",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/extraChat",
        summary: "One slot above maxChats while enabled.",
        params: "q:registeredId* b:agentId b:enabled:boolean",
        root: "",
        example: None,
        errors: SESS,
        mount: || post(profile::extra_chat),
    },
    RouteDef {
        op: "followUpConversations",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/followUpConversations",
        summary: "Conversations closed with followUp=true for this agent.",
        params: "q:registeredId* q:username*",
        root: "FollowUpConversationsResponse",
        example: Some(
            r#"{"conversations":[{"agentGroupId":"1","businessRuleId":"","businessUnitId":"22","chatTitle":"Chat 1000000001","conversationChannel":"chat","conversationId":"1000000001","customerId":"5000000001","followUpNotes":"call back","followUpTimeout":86400000,"followUpTimestamp":1764000000000,"lastUseTimestamp":1764000000000,"launchPage":"","launchType":"proactive","siteId":"306"}]}"#,
        ),
        errors: SESS,
        mount: || get(conversation::follow_up_conversations),
    },
    RouteDef {
        op: "followUpEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/followUpEngagement",
        summary: "Resumes a follow-up conversation (same engagement id): `conversationId`, else the customer's (`customerId`), else the first waiting.",
        params: "q:registeredId* q:agentId* b:conversationId b:customerId b:agentGroupId b:businessUnitId b:siteId",
        root: "FollowUpEngagementResponse",
        example: Some(
            r#"{"conversationId":"1000000001","engagementId":"1000000001","status":"success"}"#,
        ),
        errors: ENG,
        mount: || post(conversation::follow_up_engagement),
    },
    RouteDef {
        op: "fullScriptTree",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/fullScriptTree",
        summary: "Script trees of the site with every script.",
        params: "q:registeredId* q:username q:siteId",
        root: "FullScriptTreeResponse",
        example: Some(
            r#"{"scriptTreesOfSite":[{"checksum":"5f1c2b3a4d5e6f70","scriptTrees":[{"id":"1","name":"Sales scripts","scriptGroupFolder":[],"scriptGroups":[{"errorMsg":"","id":"13","name":"Offers","scriptGroup":[{"automaton-id":"","automaton-type":"","command":"script-13-1","devices":"all","hotkey":"","keywords":"discount","nonEditable":"true","scriptType":"text","scriptValue":"20% off"}]}]}],"siteId":"306"}]}"#,
        ),
        errors: SITE,
        mount: || get(scripts::full_script_tree),
    },
    RouteDef {
        op: "joinEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/joinEngagement",
        summary: "Re-enters an engagement after a lost session.",
        params: "q:registeredId* b:agentId* b:engagementId*",
        root: "JoinEngagementResponse",
        example: Some(
            r#"{"agentId":"agent1","engagementId":"1000000001","messageText":"","status":"success"}"#,
        ),
        errors: ENG,
        mount: || post(agent::join),
    },
    RouteDef {
        op: "loggingAgent",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/logging/agent",
        summary: "Keeps a desktop log line.",
        params: "q:registeredId* b:agentId* b:engagementId* b:message b:level",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(conversation::logging_agent),
    },
    RouteDef {
        op: "login",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/login",
        summary: "Logs an agent in.",
        params: "b:username* b:password*",
        root: "AgentLoginResponse",
        example: Some(
            r#"{"loginAsAvailable":true,"publicUserId":"pub-agent1","registeredId":"1-0a1b2c3d","status":"success","userId":"agent1"}"#,
        ),
        errors: SESS,
        mount: || post(agent::login),
    },
    RouteDef {
        op: "maskText",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/maskText",
        summary: "Masks a line of the stored transcript.",
        params: "q:registeredId* b:agentId b:engagementId* b:maskedChatLine* b:previousMaskedChatLine*",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(conversation::mask_text),
    },
    RouteDef {
        op: "messages.get",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/messages",
        summary: "The long-poll: pending messages per engagement, or 204.",
        params: "q:registeredId q:agentId q:instantResponse:boolean q:requestEntireTranscript:boolean",
        root: "EngagementMessagesResponse",
        example: Some(
            r#"{"engagements":[{"id":"1000000001","messages":[{"member":"system","messageType":"newRequest","requestType":"engagement","timestamp":1764000000000}],"settings":{"agentGroupId":"1","siteId":"306"}}],"messages":[]}"#,
        ),
        errors: SESS204,
        mount: || get(agent::get_messages),
    },
    RouteDef {
        op: "messages.post",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/messages",
        summary: "Posts a line, form or typing state.",
        params: "q:registeredId* b:agentId* b:engagementId* b:messageText* b:messageType b:chatLineReceiverType b:state",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(agent::post_messages),
    },
    RouteDef {
        op: "ninaCoachChatTakeOver",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/ninaCoachChatTakeOver",
        summary: "The live agent takes over from the virtual assistant.",
        params: "q:registeredId* b:agentId* b:engagementId* b:havaSessionId",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(conversation::nina_take_over),
    },
    RouteDef {
        op: "ninaCoachContentMetaInfo",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/ninaCoachContentMetaInfo",
        summary: "What the virtual assistant knows of the chat.",
        params: "q:registeredId* q:agentId q:engagementId q:contentVersion q:havaSessionId q:sci",
        root: "NinaCoachContentMetaInfoResponse",
        example: Some(r#"{"contentMetaInfo":"{\"intents\":[\"billing\"]}","contentVersion":"1"}"#),
        errors: ENG,
        mount: || get(conversation::nina_meta_info),
    },
    RouteDef {
        op: "ninaCoachEscalationResolution",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/ninaCoachEscalationResolution",
        summary: "Tells the virtual assistant whether the agent helped.",
        params: "q:registeredId* b:resolutionCode* b:agentId b:engagementId b:concepts:array",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(conversation::nina_resolution),
    },
    RouteDef {
        op: "preLoginStatus",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/preLoginStatus",
        summary: "Whether the agent has a live session (no token needed).",
        params: "q:username*",
        root: "PreLoginStatusResponse",
        example: Some(r#"{"hasActiveSession":false}"#),
        errors: NOTOKEN,
        mount: || get(agent::pre_login_status),
    },
    RouteDef {
        op: "refuseOwnership",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/refuseOwnership",
        summary: "Refuses a pending ownership transfer.",
        params: "q:registeredId* b:agentId* b:engagementId* b:reason",
        root: "RefuseOwnershipResponse",
        example: Some(r#"{"engagementId":"1000000001","reason":"","status":"refused"}"#),
        errors: ENG,
        mount: || transfer::ownership_answer_route(false),
    },
    RouteDef {
        op: "requestEntireTranscripts",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/requestEntireTranscripts",
        summary: "Transcripts of engagements the agent handled.",
        params: "q:registeredId* q:username* q:chatIds*",
        root: "EngagementMessagesResponse",
        example: Some(
            r#"{"engagements":[{"id":"1000000001","messages":[{"chatLineReceiverType":"external","member":"customer","messageText":"hello","messageType":"chatLine","timestamp":1764000000000,"userId":"5000000001"}]}],"messages":[]}"#,
        ),
        errors: SESS,
        mount: || get(conversation::request_entire_transcripts),
    },
    RouteDef {
        op: "resolveConversation",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/resolveConversation",
        summary: "Resolves a conversation (closes it, or ends a follow-up).",
        params: "q:registeredId* b:agentId* b:engagementId* b:conversationId b:dispositions:object b:followUp:boolean b:followUpAgent b:followUpNotes",
        root: "ResolveConversationResponse",
        example: Some(r#"{"resolveState":"OK","warnParams":"","warning":""}"#),
        errors: ENG,
        mount: || post(conversation::resolve_conversation),
    },
    RouteDef {
        op: "scriptGroup",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/scriptGroup",
        summary: "One script group's scripts.",
        params: "q:username* q:scriptGroupId* q:registeredId",
        root: "ScriptGroupResponse",
        example: Some(
            r#"{"errorMsg":"","id":"11","name":"Greetings","scriptGroup":[{"automaton-id":"","automaton-type":"","command":"script-11-1","devices":"all","hotkey":"g1","keywords":"hello,hi","nonEditable":"true","scriptType":"text","scriptValue":"Hello"}]}"#,
        ),
        errors: SESS,
        mount: || get(scripts::script_group),
    },
    RouteDef {
        op: "scriptTree",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/scriptTree",
        summary: "Script trees of the site (groups without scripts).",
        params: "q:registeredId* q:username* q:siteId",
        root: "ScriptTreeResponse",
        example: Some(
            r#"{"scriptTreesOfSite":[{"checksum":"5f1c2b3a4d5e6f70","scriptTrees":[{"id":"1","name":"Sales scripts","scriptGroupFolder":[{"name":"Greetings and closings","scriptGroup":[{"errorMsg":"","id":"11","name":"Greetings","scriptGroup":[]}],"scriptGroupFolder":[]}],"scriptGroups":[]}],"siteId":"306"}]}"#,
        ),
        errors: SITE,
        mount: || get(scripts::script_tree),
    },
    RouteDef {
        op: "sendIllegalWordNotification",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/sendIllegalWordNotification",
        summary: "Notes an illegal word (the conference sees it).",
        params: "q:registeredId* b:engagementId* b:illegalWord* b:agentId b:transcriptLine b:settingIds:array",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(conversation::illegal_word),
    },
    RouteDef {
        op: "settings",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/settings",
        summary: "The agent's and the site's settings.",
        params: "q:registeredId* q:username q:settingTypes",
        root: "SettingsResponse",
        example: Some(
            r#"{"busyStatuses":{"status":["Lunch"]},"cobrowseEnabled":true,"cobrowseURLs":[{"siteId":"306","url":"https://cobrowse.example.com/306"}],"enableAudibleAlert":true,"enableAudibleAlertWhenNotInFocus":true,"enableCustomScript":true,"enableMoveWindow":true,"loginStatus":"available","maxChats":1,"maxExtraSlots":1,"maxForcedChats":0,"reservedStatuses":{"status":["Away"]},"screenCaptureLog":false,"siteSettings":{"sites":[{"agentGroups":[{"displayName":"General Sales","id":"1","name":"GeneralSales","settingId":"ag-1"}],"businessUnits":[{"displayName":"Consumer Sales","id":"22","name":"ConsumerSales","settingId":"bu-22"}],"id":"306","name":"Site 306"}]},"visualIndicatorFlashing":"ALWAYS"}"#,
        ),
        errors: SESS,
        mount: || get(profile::settings),
    },
    RouteDef {
        op: "smsCommand",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/smsCommand",
        summary: "RESEND the agent's last line, or SKIP.",
        params: "q:registeredId* b:command* b:engagementId* b:agentId b:lineId",
        root: "",
        example: None,
        errors: ENG,
        mount: || post(conversation::sms_command),
    },
    RouteDef {
        op: "summaryData",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/summaryData",
        summary: "Live agents, slots and queue per business unit and agent group.",
        params: "q:registeredId* q:agentId*",
        root: "SummaryDataResponse",
        example: Some(
            r#"{"businessUnits":[{"agentAttributes":[],"agentGroups":[{"agentAttributes":[],"agents":[{"availableSlots":1,"conferenceQueueSlots":0,"firstName":"agent2","id":"agent2","isAvailableForConference":true,"isAvailableForTransfer":true,"lastName":"","transferQueueSlots":0}],"availableAgents":1,"availableEngagementSlots":1,"availableSlots":1,"busyEngagementSlots":1,"canBePrioritize":true,"conferenceQueueSlots":0,"disableAgentSelection":false,"displayName":"General Sales","engagementsInQueue":0,"id":"1","isAvailableForConference":true,"isAvailableForTransfer":true,"name":"GeneralSales","totalAgents":2,"totalEngagementSlots":2,"transferQueueSlots":0}],"agents":[],"availableAgents":1,"availableEngagementSlots":1,"availableSlots":1,"busyEngagementSlots":1,"canBePrioritize":true,"conferenceQueueSlots":0,"disableAgentSelection":false,"displayName":"Consumer Sales","engagementsInQueue":0,"id":"22","isAvailableForConference":true,"isAvailableForTransfer":true,"name":"ConsumerSales","siteId":"306","totalAgents":2,"totalEngagementSlots":2,"transferQueueSlots":0}]}"#,
        ),
        errors: SESS,
        mount: || get(transfer::summary_data),
    },
    RouteDef {
        op: "transferConferenceOptions",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/transferConferenceOptions",
        summary: "Where an engagement could be transferred or conferenced now.",
        params: "q:registeredId* q:agentId* q:engagementId*",
        root: "TransferConferenceOptionsResponse",
        example: Some(
            r#"{"businessUnit":[{"agentAttributes":[],"agentGroups":[],"agents":[],"availableAgents":1,"availableEngagementSlots":1,"availableSlots":1,"busyEngagementSlots":0,"canBePrioritize":true,"conferenceQueueSlots":0,"disableAgentSelection":false,"displayName":"Consumer Sales","engagementsInQueue":0,"id":"22","isAvailableForConference":true,"isAvailableForTransfer":true,"name":"ConsumerSales","siteId":"306","totalAgents":1,"totalEngagementSlots":1,"transferQueueSlots":0}]}"#,
        ),
        errors: ENG,
        mount: || get(transfer::transfer_conference_options),
    },
    RouteDef {
        op: "transferEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/transferEngagement",
        summary: "Transfers an engagement to an agent or group (requestType transfer).",
        params: "q:registeredId* b:agentId* b:engagementId* b:targetAgentId b:agentGroupId b:businessUnitId b:agentNotes b:prioritizeRequest:boolean",
        root: "TransferEngagementResponse",
        example: Some(
            r#"{"engagementId":"1000000001","reason":"transfer request sent to agent agent2","status":"pending"}"#,
        ),
        errors: ENG,
        mount: || transfer::hand_over_route(HandoffKind::Transfer, "TransferEngagementResponse"),
    },
    RouteDef {
        op: "transferOwnership",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/transferOwnership",
        summary: "Asks a conference participant to take ownership.",
        params: "q:registeredId* b:agentId* b:engagementId* b:targetAgentId",
        root: "TransferOwnershipResponse",
        example: Some(
            r#"{"engagementId":"1000000001","reason":"ownership transfer request sent to agent agent2","status":"pending"}"#,
        ),
        errors: ENG,
        mount: || post(transfer::transfer_ownership),
    },
    RouteDef {
        op: "verifySession",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/verifySession",
        summary: "200 while the session lives, 401 after.",
        params: "q:registeredId* b:agentId*",
        root: "",
        example: None,
        errors: SESS,
        mount: || post(agent::verify_session),
    },
    RouteDef {
        op: "webrtcAction",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/webrtc/action",
        summary: "A webRTC call state (the customer sees it).",
        params: "q:registeredId* b:action* b:agentId* b:engagementId*",
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
    fn every_operation_of_the_reference_has_exactly_one_route() {
        let ops: HashSet<&str> = ROUTES.iter().map(|r| r.op).collect();
        assert_eq!(ops.len(), ROUTES.len(), "duplicate operation names");
        for op in crate::aeapi::ops::OPERATIONS {
            let r = ROUTES.iter().find(|r| r.op == op.name);
            let r = r.unwrap_or_else(|| panic!("{} has no route", op.name));
            assert_eq!((r.method, r.path), (op.method, op.path), "{}", op.name);
        }
    }

    #[test]
    fn params_parse_with_location_type_and_required_mark() {
        let r = ROUTES
            .iter()
            .find(|r| r.op == "customSettings")
            .expect("route");
        let p = r.params();
        assert_eq!(
            p[0],
            ParamDef {
                location: "query",
                name: "agentID",
                kind: "string",
                required: true
            }
        );
        assert!(p.contains(&ParamDef {
            location: "body",
            name: "fontSize",
            kind: "integer",
            required: false
        }));
        for r in ROUTES {
            assert_eq!(
                r.params().len(),
                r.params.split_whitespace().count(),
                "{r:?}"
            );
            if let Some(e) = r.example {
                assert!(
                    serde_json::from_str::<serde_json::Value>(e).is_ok(),
                    "{r:?}"
                );
            }
        }
    }
}
