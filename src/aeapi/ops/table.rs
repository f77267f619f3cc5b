//! The table itself: every operation's method, path and parameters, written once.
//!
//! `params` is compact: space-separated `where:name[:type][=values][mark]`. `where` is `q` (query), `b`
//! (body: JSON or form), `f` (form only) or `h` (header); `type` defaults to `string`. The mark
//! says who requires the parameter: `*` the reference and the simulator (400 when absent), `+`
//! the simulator only, `!` the reference only (the simulator takes another parameter in its
//! place); no mark: optional. `=values` lists what the simulator takes: `a|b` for a string,
//! `min..max` for an integer (inclusive); anything else is 400. Every operation but `token` also
//! takes `output=json|xml`.

use super::{Auth, Method, Operation};

/// Paths that serve two operations (a GET and a POST).
const CUSTOM_SCRIPT: &str = "/engagementAPI/v2/agent/customScript";
const MESSAGES: &str = "/engagementAPI/v2/agent/messages";
const CUSTOMER_MESSAGE: &str = "/engagementAPI/v2/customer/message";

/// The defaults every entry starts from: a bearer token, served under its own name.
const BEARER: Operation = Operation {
    name: "",
    method: Method::Get,
    path: "",
    params: "",
    success: "",
    auth: Auth::Bearer,
    served_as: None,
};

/// `agentAvailability` (its GET twin in [`VARIANTS`] takes the same parameters).
const AGENT_AVAILABILITY: Operation = Operation {
    name: "agentAvailability",
    method: Method::Post,
    path: "/engagementAPI/v2/customer/agentAvailability",
    params: "q:siteID* q:businessUnitID* q:agentGroupID",
    success: "200",
    ..BEARER
};

/// `customer.engagement` (its POST twin in [`VARIANTS`] takes the same parameters).
const CUSTOMER_ENGAGEMENT: Operation = Operation {
    name: "customer.engagement",
    method: Method::Get,
    path: "/engagementAPI/v2/customer/engagement",
    params: "q:siteID* q:businessUnitID q:agentGroupID q:InitialMessage",
    success: "200 {engagementID,customerID,status}",
    served_as: Some("customerEngagement"),
    ..BEARER
};

/// Every operation of the reference, in the order of `operations.tsv`.
pub static OPERATIONS: &[Operation] = &[
    Operation {
        name: "token",
        method: Method::Post,
        path: "/oauth-server/oauth/token",
        params: "h:Authorization* f:grant_type=client_credentials|password* f:username f:password",
        success: "200 {access_token,token_type,expires_in,scope,sites,jti}",
        auth: Auth::ClientBasic,
        ..BEARER
    },
    AGENT_AVAILABILITY,
    Operation {
        name: "acceptEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/acceptEngagement",
        params: "q:registeredId* b:engagementId* b:agentId",
        success: "200",
        ..BEARER
    },
    Operation {
        name: "acceptOwnership",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/acceptOwnership",
        params: "q:registeredId* b:agentId* b:engagementId* b:reason",
        success: "200 {engagementId,reason,status}",
        ..BEARER
    },
    Operation {
        name: "activePerformanceMetrics",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/activePerformanceMetrics",
        params: "q:registeredId* q:agentId* q:settingIds*",
        success: "200 {result,setOrExpired}",
        ..BEARER
    },
    Operation {
        name: "agentGroups",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/agentGroups",
        params: "",
        success: "200 agent groups (names, ids)",
        ..BEARER
    },
    Operation {
        name: "agentStatus",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/agentStatus",
        params: "q:registeredId* b:agentId* b:state=available|busy* b:reason",
        success: "200",
        ..BEARER
    },
    Operation {
        name: "autoTransferEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/autoTransferEngagement",
        params: "q:registeredId* b:agentId* b:engagementId* b:agentGroupId b:businessUnitId b:agentNotes",
        success: "200 {engagementId,reason,status}",
        ..BEARER
    },
    Operation {
        name: "changePassword",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/changePassword",
        params: "b:agentId* b:oldPassword* b:newPassword* b:confirmNewPassword*",
        success: "200",
        ..BEARER
    },
    Operation {
        name: "closeEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/closeEngagement",
        params: "q:registeredId* b:agentId* b:engagementId* b:dispositions:object b:followUp:boolean b:followUpAgent b:followUpNotes b:autoTransferFailed:boolean b:transferConferenceMode=transfer|conference",
        success: "200",
        ..BEARER
    },
    Operation {
        name: "conferenceEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/conferenceEngagement",
        params: "q:registeredId* b:agentId* b:engagementId* b:targetAgentId b:agentGroupId b:businessUnitId b:agentNotes b:prioritizeRequest:boolean",
        success: "200 {engagementId,reason,status}",
        ..BEARER
    },
    Operation {
        name: "conferenceMode",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/conferenceMode",
        params: "q:registeredId* b:agentId* b:engagementId*",
        success: "200",
        ..BEARER
    },
    Operation {
        name: "customScript.get",
        method: Method::Get,
        path: CUSTOM_SCRIPT,
        params: "q:agentId*",
        success: "200 {customScripts{lastUpdateDate,lng,scripts[]},userName}",
        ..BEARER
    },
    Operation {
        name: "customScript.post",
        method: Method::Post,
        path: CUSTOM_SCRIPT,
        params: "b:agentId* b:customScripts:object*",
        success: "200",
        ..BEARER
    },
    Operation {
        name: "customSettings",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/customSettings",
        params: "q:agentID* q:includeLayout:boolean b:clicking=singleClick|doubleClick b:fontSize:integer=0..100 b:language b:layoutSettings b:loginState=loginAsBusy|loginAsAvailable b:playSounds:boolean b:showAlerts:boolean",
        success: "200",
        ..BEARER
    },
    Operation {
        name: "denyEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/denyEngagement",
        params: "q:registeredId* b:agentId* b:engagementId*",
        success: "200",
        ..BEARER
    },
    Operation {
        name: "dispositions",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/dispositions",
        params: "q:registeredId* q:username* q:siteId* q:scriptTreeId*",
        success: "200 {categoryReasons,dispositions{categories,scriptTree,site},message}",
        ..BEARER
    },
    Operation {
        name: "escalateEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/escalateEngagement",
        params: "q:registeredId* b:agentId* b:engagementId* b:escalateReason",
        success: "200",
        ..BEARER
    },
    Operation {
        name: "startDisposition",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/event/startDisposition",
        params: "q:registeredId* b:agentId b:engagementId",
        success: "200",
        ..BEARER
    },
    Operation {
        name: "extraChat",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/extraChat",
        params: "q:registeredId* b:agentId b:enabled:boolean",
        success: "200",
        ..BEARER
    },
    Operation {
        name: "followUpConversations",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/followUpConversations",
        params: "q:registeredId* q:username*",
        success: "200 {conversations[]}",
        ..BEARER
    },
    Operation {
        name: "followUpEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/followUpEngagement",
        params: "q:registeredId* q:agentId* b:conversationId b:customerId b:agentGroupId b:businessUnitId b:siteId",
        success: "200",
        ..BEARER
    },
    Operation {
        name: "fullScriptTree",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/fullScriptTree",
        params: "q:registeredId* q:username q:siteId",
        success: "200 {scriptTreesOfSite[]}",
        ..BEARER
    },
    Operation {
        name: "joinEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/joinEngagement",
        params: "q:registeredId* b:agentId* b:engagementId*",
        success: "200 {agentId,engagementId,messageText,status}",
        ..BEARER
    },
    Operation {
        name: "loggingAgent",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/logging/agent",
        params: "q:registeredId! b:agentId* b:engagementId* b:message b:level",
        success: "200",
        ..BEARER
    },
    Operation {
        name: "login",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/login",
        params: "b:username* b:password*",
        success: "200 {loginAsAvailable,publicUserId,registeredId,status,userId}",
        ..BEARER
    },
    Operation {
        name: "maskText",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/maskText",
        params: "q:registeredId* b:agentId b:engagementId+ b:maskedChatLine+ b:previousMaskedChatLine+",
        success: "200",
        ..BEARER
    },
    Operation {
        name: "messages.get",
        method: Method::Get,
        path: MESSAGES,
        params: "q:registeredId q:agentId! q:instantResponse:boolean q:requestEntireTranscript:boolean",
        success: "200 EngagementMessagesResponse{engagements[{id,messages[],settings}],messages[]} or 204 when nothing is pending",
        ..BEARER
    },
    Operation {
        name: "messages.post",
        method: Method::Post,
        path: MESSAGES,
        params: "q:registeredId* b:agentId* b:engagementId* b:messageText+ b:messageType=chatLine|dynamicForm|stateChange|script b:chatLineReceiverType=external|internal b:state=agentIsTyping|agentStopsTyping",
        success: "200",
        ..BEARER
    },
    Operation {
        name: "ninaCoachChatTakeOver",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/ninaCoachChatTakeOver",
        params: "q:registeredId* b:agentId* b:engagementId* b:havaSessionId",
        success: "200",
        ..BEARER
    },
    Operation {
        name: "ninaCoachContentMetaInfo",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/ninaCoachContentMetaInfo",
        params: "q:registeredId* q:agentId q:engagementId q:contentVersion q:havaSessionId q:sci",
        success: "200 {contentMetaInfo,contentVersion}",
        ..BEARER
    },
    Operation {
        name: "ninaCoachEscalationResolution",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/ninaCoachEscalationResolution",
        params: "q:registeredId* b:resolutionCode=NL|ERR|TIMEOUT|NOOP|INC|LC* b:agentId b:engagementId b:concepts:array",
        success: "200",
        ..BEARER
    },
    Operation {
        name: "preLoginStatus",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/preLoginStatus",
        params: "q:username*",
        success: "200 {hasActiveSession}",
        auth: Auth::None,
        ..BEARER
    },
    Operation {
        name: "refuseOwnership",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/refuseOwnership",
        params: "q:registeredId* b:agentId* b:engagementId* b:reason",
        success: "200",
        ..BEARER
    },
    Operation {
        name: "requestEntireTranscripts",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/requestEntireTranscripts",
        params: "q:registeredId* q:username* q:chatIds*",
        success: "200",
        ..BEARER
    },
    Operation {
        name: "resolveConversation",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/resolveConversation",
        params: "q:registeredId* b:agentId* b:engagementId* b:conversationId b:dispositions:object b:followUp:boolean b:followUpAgent b:followUpNotes",
        success: "200 {resolveState,warnParams,warning}",
        ..BEARER
    },
    Operation {
        name: "scriptGroup",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/scriptGroup",
        params: "q:username* q:scriptGroupId* q:registeredId",
        success: "200 {errorMsg,id,name,scriptGroup[]}",
        ..BEARER
    },
    Operation {
        name: "scriptTree",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/scriptTree",
        params: "q:registeredId* q:username* q:siteId",
        success: "200 {scriptTreesOfSite[]}",
        ..BEARER
    },
    Operation {
        name: "sendIllegalWordNotification",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/sendIllegalWordNotification",
        params: "q:registeredId* b:engagementId+ b:illegalWord+ b:agentId b:transcriptLine b:settingIds:array",
        success: "200",
        ..BEARER
    },
    Operation {
        name: "settings",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/settings",
        params: "q:registeredId* q:username q:settingTypes",
        success: "200 {busyStatuses,cobrowseEnabled,...,siteSettings,visualIndicatorFlashing}",
        ..BEARER
    },
    Operation {
        name: "smsCommand",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/smsCommand",
        params: "q:registeredId* b:command=RESEND|SKIP* b:engagementId+ b:agentId b:lineId",
        success: "200",
        ..BEARER
    },
    Operation {
        name: "summaryData",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/summaryData",
        params: "q:registeredId* q:agentId*",
        success: "200 {businessUnits[]}",
        ..BEARER
    },
    Operation {
        name: "transferConferenceOptions",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/transferConferenceOptions",
        params: "q:registeredId* q:agentId* q:engagementId*",
        success: "200 {businessUnit[]}",
        ..BEARER
    },
    Operation {
        name: "transferEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/transferEngagement",
        params: "q:registeredId* b:agentId* b:engagementId* b:targetAgentId b:agentGroupId b:businessUnitId b:agentNotes b:prioritizeRequest:boolean",
        success: "200 {engagementId,reason,status}",
        ..BEARER
    },
    Operation {
        name: "transferOwnership",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/transferOwnership",
        params: "q:registeredId* b:agentId* b:engagementId* b:targetAgentId",
        success: "200 {engagementId,reason,status}",
        ..BEARER
    },
    Operation {
        name: "verifySession",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/verifySession",
        params: "q:registeredId* b:agentId*",
        success: "200, or 401 when the session is gone",
        ..BEARER
    },
    Operation {
        name: "webrtcAction",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/webrtc/action",
        params: "q:registeredId* b:action=DIALED|NETWORK_ERR|END_WEBCALL* b:agentId* b:engagementId*",
        success: "200",
        ..BEARER
    },
];

/// The customer-side calls real clients use to start and drive a chat (`field-notes.md`; the
/// reference documents only `customer/agentAvailability`, listed above as `agentAvailability`).
/// The simulator serves them under its own names (`served_as`).
pub static CUSTOMER_OPERATIONS: &[Operation] = &[
    CUSTOMER_ENGAGEMENT,
    Operation {
        name: "customer.message.get",
        method: Method::Get,
        path: CUSTOMER_MESSAGE,
        params: "q:customerID* q:engagementID* q:instantResponse:boolean",
        success: "200 {messages[]}",
        served_as: Some("customerMessage.get"),
        ..BEARER
    },
    Operation {
        name: "customer.message.post",
        method: Method::Post,
        path: CUSTOMER_MESSAGE,
        params: "b:customerID* b:engagementID* b:messageType=chatLine|agentDataPass|stateChange b:messageText b:state=closed",
        success: "200",
        served_as: Some("customerMessage.post"),
        ..BEARER
    },
    Operation {
        name: "customer.isTyping",
        method: Method::Post,
        path: "/engagementAPI/v2/customer/customerIsTyping",
        params: "q:customerID* q:engagementID* q:isTyping:boolean*",
        success: "200",
        served_as: Some("customerIsTyping"),
        ..BEARER
    },
];

/// The other method of two customer calls, which real clients also use: the simulator serves
/// them; the harness never calls them, so suites cannot name them.
pub static VARIANTS: &[Operation] = &[
    Operation {
        name: "agentAvailability.get",
        method: Method::Get,
        ..AGENT_AVAILABILITY
    },
    Operation {
        name: "customerEngagement.post",
        method: Method::Post,
        served_as: None,
        ..CUSTOMER_ENGAGEMENT
    },
];
