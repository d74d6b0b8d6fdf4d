//! WhatsApp opt-out and opt-in keywords, as Twilio's Advanced Opt-Out recognises them.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptAction {
    OptOut,
    OptIn,
}

const OPT_OUT: [&str; 8] = [
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
    "REVOKE",
];
const OPT_IN: [&str; 2] = ["START", "UNSTOP"];

/// The action a message body asks for when it is exactly one keyword (any case, surrounding
/// whitespace ignored). "Please stop calling me" is a message, not a keyword.
pub fn keyword_action(body: &str) -> Option<OptAction> {
    let word = body.trim().to_uppercase();
    if OPT_OUT.contains(&word.as_str()) {
        Some(OptAction::OptOut)
    } else if OPT_IN.contains(&word.as_str()) {
        Some(OptAction::OptIn)
    } else {
        None
    }
}

/// Twilio's `OptOutType` webhook parameter (STOP, START, HELP).
pub fn opt_out_type_action(opt_out_type: &str) -> Option<OptAction> {
    match opt_out_type.trim().to_uppercase().as_str() {
        "STOP" => Some(OptAction::OptOut),
        "START" => Some(OptAction::OptIn),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opt_out_keywords_in_any_case_and_spacing() {
        for body in [
            "STOP",
            "stop",
            " Stop\n",
            "STOPALL",
            "unsubscribe",
            "Cancel",
            "end",
            "QUIT",
            "optout",
            "revoke",
            "\tStOp  ",
        ] {
            assert_eq!(keyword_action(body), Some(OptAction::OptOut), "{body:?}");
        }
    }

    #[test]
    fn opt_in_keywords() {
        for body in ["START", "start", " Unstop "] {
            assert_eq!(keyword_action(body), Some(OptAction::OptIn), "{body:?}");
        }
    }

    #[test]
    fn ordinary_messages_are_not_keywords() {
        for body in ["please stop", "stop it", "", "STOP!", "starting", "help"] {
            assert_eq!(keyword_action(body), None, "{body:?}");
        }
    }

    #[test]
    fn twilio_opt_out_type() {
        assert_eq!(opt_out_type_action("STOP"), Some(OptAction::OptOut));
        assert_eq!(opt_out_type_action("start"), Some(OptAction::OptIn));
        assert_eq!(opt_out_type_action("HELP"), None);
    }
}
