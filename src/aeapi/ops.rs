//! The 47 operations of the AEAPI v2 reference (`operations.tsv`), as one static table.
//!
//! Every part of the harness names operations the same way: suites (`contracts`, thresholds),
//! the simulator's routes, the runner's metrics and the reports. Names are the reference's; where
//! one path serves two methods the name carries a suffix (`messages.get`, `messages.post`).

/// HTTP method of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    /// Upper-case method name as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// Where a required parameter travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamIn {
    Query,
    Body,
    Header,
    Form,
}

/// A parameter the reference marks as required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub location: ParamIn,
}

/// One operation of the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The operation's name as suites and reports spell it.
    pub name: &'static str,
    pub method: Method,
    /// Path relative to the API base (the auth base for `token`).
    pub path: &'static str,
    /// Parameters the reference marks as required.
    pub required: &'static [Param],
    /// The reference's success response, as `operations.tsv` summarises it.
    pub success: &'static str,
}

/// Every operation, in the order of `operations.tsv`.
pub static OPERATIONS: &[Operation] = &[
    Operation {
        name: "token",
        method: Method::Post,
        path: "/oauth-server/oauth/token",
        required: &[
            Param {
                name: "Authorization",
                location: ParamIn::Header,
            },
            Param {
                name: "grant_type",
                location: ParamIn::Form,
            },
        ],
        success: "200 {access_token,token_type,expires_in,scope,sites,jti}",
    },
    Operation {
        name: "agentAvailability",
        method: Method::Post,
        path: "/engagementAPI/v2/customer/agentAvailability",
        required: &[
            Param {
                name: "businessUnitID",
                location: ParamIn::Query,
            },
            Param {
                name: "siteID",
                location: ParamIn::Query,
            },
        ],
        success: "200",
    },
    Operation {
        name: "acceptEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/acceptEngagement",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "engagementId",
                location: ParamIn::Body,
            },
        ],
        success: "200",
    },
    Operation {
        name: "acceptOwnership",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/acceptOwnership",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "agentId",
                location: ParamIn::Body,
            },
            Param {
                name: "engagementId",
                location: ParamIn::Body,
            },
        ],
        success: "200 {engagementId,reason,status}",
    },
    Operation {
        name: "activePerformanceMetrics",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/activePerformanceMetrics",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "agentId",
                location: ParamIn::Query,
            },
            Param {
                name: "settingIds",
                location: ParamIn::Query,
            },
        ],
        success: "200 {result,setOrExpired}",
    },
    Operation {
        name: "agentGroups",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/agentGroups",
        required: &[],
        success: "200 agent groups (names, ids)",
    },
    Operation {
        name: "agentStatus",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/agentStatus",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "agentId",
                location: ParamIn::Body,
            },
            Param {
                name: "state",
                location: ParamIn::Body,
            },
        ],
        success: "200",
    },
    Operation {
        name: "autoTransferEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/autoTransferEngagement",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "agentId",
                location: ParamIn::Body,
            },
            Param {
                name: "engagementId",
                location: ParamIn::Body,
            },
        ],
        success: "200 {engagementId,reason,status}",
    },
    Operation {
        name: "changePassword",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/changePassword",
        required: &[
            Param {
                name: "agentId",
                location: ParamIn::Body,
            },
            Param {
                name: "oldPassword",
                location: ParamIn::Body,
            },
            Param {
                name: "newPassword",
                location: ParamIn::Body,
            },
            Param {
                name: "confirmNewPassword",
                location: ParamIn::Body,
            },
        ],
        success: "200",
    },
    Operation {
        name: "closeEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/closeEngagement",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "agentId",
                location: ParamIn::Body,
            },
            Param {
                name: "engagementId",
                location: ParamIn::Body,
            },
        ],
        success: "200",
    },
    Operation {
        name: "conferenceEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/conferenceEngagement",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "agentId",
                location: ParamIn::Body,
            },
            Param {
                name: "engagementId",
                location: ParamIn::Body,
            },
        ],
        success: "200 {engagementId,reason,status}",
    },
    Operation {
        name: "conferenceMode",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/conferenceMode",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "agentId",
                location: ParamIn::Body,
            },
            Param {
                name: "engagementId",
                location: ParamIn::Body,
            },
        ],
        success: "200",
    },
    Operation {
        name: "customScript.get",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/customScript",
        required: &[Param {
            name: "agentId",
            location: ParamIn::Query,
        }],
        success: "200 {customScripts{lastUpdateDate,lng,scripts[]},userName}",
    },
    Operation {
        name: "customScript.post",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/customScript",
        required: &[
            Param {
                name: "agentId",
                location: ParamIn::Body,
            },
            Param {
                name: "customScripts",
                location: ParamIn::Body,
            },
        ],
        success: "200",
    },
    Operation {
        name: "customSettings",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/customSettings",
        required: &[Param {
            name: "agentID",
            location: ParamIn::Query,
        }],
        success: "200",
    },
    Operation {
        name: "denyEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/denyEngagement",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "agentId",
                location: ParamIn::Body,
            },
            Param {
                name: "engagementId",
                location: ParamIn::Body,
            },
        ],
        success: "200",
    },
    Operation {
        name: "dispositions",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/dispositions",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "username",
                location: ParamIn::Query,
            },
            Param {
                name: "siteId",
                location: ParamIn::Query,
            },
            Param {
                name: "scriptTreeId",
                location: ParamIn::Query,
            },
        ],
        success: "200 {categoryReasons,dispositions{categories,scriptTree,site},message}",
    },
    Operation {
        name: "escalateEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/escalateEngagement",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "agentId",
                location: ParamIn::Body,
            },
            Param {
                name: "engagementId",
                location: ParamIn::Body,
            },
        ],
        success: "200",
    },
    Operation {
        name: "startDisposition",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/event/startDisposition",
        required: &[Param {
            name: "registeredId",
            location: ParamIn::Query,
        }],
        success: "200",
    },
    Operation {
        name: "extraChat",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/extraChat",
        required: &[Param {
            name: "registeredId",
            location: ParamIn::Query,
        }],
        success: "200",
    },
    Operation {
        name: "followUpConversations",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/followUpConversations",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "username",
                location: ParamIn::Query,
            },
        ],
        success: "200 {conversations[]}",
    },
    Operation {
        name: "followUpEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/followUpEngagement",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "agentId",
                location: ParamIn::Query,
            },
        ],
        success: "200",
    },
    Operation {
        name: "fullScriptTree",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/fullScriptTree",
        required: &[Param {
            name: "registeredId",
            location: ParamIn::Query,
        }],
        success: "200 {scriptTreesOfSite[]}",
    },
    Operation {
        name: "joinEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/joinEngagement",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "agentId",
                location: ParamIn::Body,
            },
            Param {
                name: "engagementId",
                location: ParamIn::Body,
            },
        ],
        success: "200 {agentId,engagementId,messageText,status}",
    },
    Operation {
        name: "loggingAgent",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/logging/agent",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "agentId",
                location: ParamIn::Body,
            },
            Param {
                name: "engagementId",
                location: ParamIn::Body,
            },
        ],
        success: "200",
    },
    Operation {
        name: "login",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/login",
        required: &[
            Param {
                name: "username",
                location: ParamIn::Body,
            },
            Param {
                name: "password",
                location: ParamIn::Body,
            },
        ],
        success: "200 {loginAsAvailable,publicUserId,registeredId,status,userId}",
    },
    Operation {
        name: "maskText",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/maskText",
        required: &[Param {
            name: "registeredId",
            location: ParamIn::Query,
        }],
        success: "200",
    },
    Operation {
        name: "messages.get",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/messages",
        required: &[Param {
            name: "agentId",
            location: ParamIn::Query,
        }],
        success: "200 EngagementMessagesResponse{engagements[{id,messages[],settings}],messages[]} or 204 when nothing is pending",
    },
    Operation {
        name: "messages.post",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/messages",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "agentId",
                location: ParamIn::Body,
            },
            Param {
                name: "engagementId",
                location: ParamIn::Body,
            },
        ],
        success: "200",
    },
    Operation {
        name: "ninaCoachChatTakeOver",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/ninaCoachChatTakeOver",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "agentId",
                location: ParamIn::Body,
            },
            Param {
                name: "engagementId",
                location: ParamIn::Body,
            },
        ],
        success: "200",
    },
    Operation {
        name: "ninaCoachContentMetaInfo",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/ninaCoachContentMetaInfo",
        required: &[Param {
            name: "registeredId",
            location: ParamIn::Query,
        }],
        success: "200 {contentMetaInfo,contentVersion}",
    },
    Operation {
        name: "ninaCoachEscalationResolution",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/ninaCoachEscalationResolution",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "resolutionCode",
                location: ParamIn::Body,
            },
        ],
        success: "200",
    },
    Operation {
        name: "preLoginStatus",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/preLoginStatus",
        required: &[Param {
            name: "username",
            location: ParamIn::Query,
        }],
        success: "200 {hasActiveSession}",
    },
    Operation {
        name: "refuseOwnership",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/refuseOwnership",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "agentId",
                location: ParamIn::Body,
            },
            Param {
                name: "engagementId",
                location: ParamIn::Body,
            },
        ],
        success: "200",
    },
    Operation {
        name: "requestEntireTranscripts",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/requestEntireTranscripts",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "username",
                location: ParamIn::Query,
            },
            Param {
                name: "chatIds",
                location: ParamIn::Query,
            },
        ],
        success: "200",
    },
    Operation {
        name: "resolveConversation",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/resolveConversation",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "agentId",
                location: ParamIn::Body,
            },
            Param {
                name: "engagementId",
                location: ParamIn::Body,
            },
        ],
        success: "200 {resolveState,warnParams,warning}",
    },
    Operation {
        name: "scriptGroup",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/scriptGroup",
        required: &[
            Param {
                name: "username",
                location: ParamIn::Query,
            },
            Param {
                name: "scriptGroupId",
                location: ParamIn::Query,
            },
        ],
        success: "200 {errorMsg,id,name,scriptGroup[]}",
    },
    Operation {
        name: "scriptTree",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/scriptTree",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "username",
                location: ParamIn::Query,
            },
        ],
        success: "200 {scriptTreesOfSite[]}",
    },
    Operation {
        name: "sendIllegalWordNotification",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/sendIllegalWordNotification",
        required: &[Param {
            name: "registeredId",
            location: ParamIn::Query,
        }],
        success: "200",
    },
    Operation {
        name: "settings",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/settings",
        required: &[Param {
            name: "registeredId",
            location: ParamIn::Query,
        }],
        success: "200 {busyStatuses,cobrowseEnabled,...,siteSettings,visualIndicatorFlashing}",
    },
    Operation {
        name: "smsCommand",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/smsCommand",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "command",
                location: ParamIn::Body,
            },
        ],
        success: "200",
    },
    Operation {
        name: "summaryData",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/summaryData",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "agentId",
                location: ParamIn::Query,
            },
        ],
        success: "200 {businessUnits[]}",
    },
    Operation {
        name: "transferConferenceOptions",
        method: Method::Get,
        path: "/engagementAPI/v2/agent/transferConferenceOptions",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "agentId",
                location: ParamIn::Query,
            },
            Param {
                name: "engagementId",
                location: ParamIn::Query,
            },
        ],
        success: "200 {businessUnit[]}",
    },
    Operation {
        name: "transferEngagement",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/transferEngagement",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "agentId",
                location: ParamIn::Body,
            },
            Param {
                name: "engagementId",
                location: ParamIn::Body,
            },
        ],
        success: "200 {engagementId,reason,status}",
    },
    Operation {
        name: "transferOwnership",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/transferOwnership",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "agentId",
                location: ParamIn::Body,
            },
            Param {
                name: "engagementId",
                location: ParamIn::Body,
            },
        ],
        success: "200 {engagementId,reason,status}",
    },
    Operation {
        name: "verifySession",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/verifySession",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "agentId",
                location: ParamIn::Body,
            },
        ],
        success: "200, or 401 when the session is gone",
    },
    Operation {
        name: "webrtcAction",
        method: Method::Post,
        path: "/engagementAPI/v2/agent/webrtc/action",
        required: &[
            Param {
                name: "registeredId",
                location: ParamIn::Query,
            },
            Param {
                name: "action",
                location: ParamIn::Body,
            },
            Param {
                name: "agentId",
                location: ParamIn::Body,
            },
            Param {
                name: "engagementId",
                location: ParamIn::Body,
            },
        ],
        success: "200",
    },
];

/// The customer-side calls real clients use to start and drive a chat (`field-notes.md`; the
/// reference documents only `customer/agentAvailability`, listed above as `agentAvailability`).
pub static CUSTOMER_OPERATIONS: &[Operation] = &[
    Operation {
        name: "customer.engagement",
        method: Method::Get,
        path: "/engagementAPI/v2/customer/engagement",
        required: &[
            Param {
                name: "siteID",
                location: ParamIn::Query,
            },
            Param {
                name: "businessUnitID",
                location: ParamIn::Query,
            },
        ],
        success: "200 {engagementID,customerID,status}",
    },
    Operation {
        name: "customer.message.get",
        method: Method::Get,
        path: "/engagementAPI/v2/customer/message",
        required: &[
            Param {
                name: "customerID",
                location: ParamIn::Query,
            },
            Param {
                name: "engagementID",
                location: ParamIn::Query,
            },
        ],
        success: "200 {messages[]}",
    },
    Operation {
        name: "customer.message.post",
        method: Method::Post,
        path: "/engagementAPI/v2/customer/message",
        required: &[
            Param {
                name: "customerID",
                location: ParamIn::Form,
            },
            Param {
                name: "engagementID",
                location: ParamIn::Form,
            },
        ],
        success: "200",
    },
    Operation {
        name: "customer.isTyping",
        method: Method::Post,
        path: "/engagementAPI/v2/customer/customerIsTyping",
        required: &[
            Param {
                name: "customerID",
                location: ParamIn::Query,
            },
            Param {
                name: "engagementID",
                location: ParamIn::Query,
            },
            Param {
                name: "isTyping",
                location: ParamIn::Query,
            },
        ],
        success: "200",
    },
];

/// Looks an operation up by its name (agent-side reference operations and customer calls).
pub fn find(name: &str) -> Option<&'static Operation> {
    OPERATIONS
        .iter()
        .chain(CUSTOMER_OPERATIONS)
        .find(|op| op.name == name)
}

/// Every operation name, for "did you mean" hints and listings.
pub fn names() -> impl Iterator<Item = &'static str> {
    OPERATIONS
        .iter()
        .chain(CUSTOMER_OPERATIONS)
        .map(|op| op.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_all_47_operations_with_unique_names() {
        assert_eq!(OPERATIONS.len(), 47);
        let mut names: Vec<_> = OPERATIONS.iter().map(|op| op.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 47);
        let mut all: Vec<_> = super::names().collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 47 + CUSTOMER_OPERATIONS.len());
    }

    #[test]
    fn find_returns_method_path_and_required_params() {
        let op = find("acceptEngagement").expect("listed");
        assert_eq!(op.method, Method::Post);
        assert_eq!(op.path, "/engagementAPI/v2/agent/acceptEngagement");
        assert_eq!(
            op.required,
            &[
                Param {
                    name: "registeredId",
                    location: ParamIn::Query
                },
                Param {
                    name: "engagementId",
                    location: ParamIn::Body
                },
            ]
        );
        assert!(find("acceptEngagment").is_none());
    }
}
