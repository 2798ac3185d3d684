//! The phrase rules' patterns, compiled once. Patterns are written in lower case for folded text
//! (see `fold.rs`) and compiled as byte regexes without Unicode classes: `\b`, `\w` and `\s` are
//! ASCII, which keeps every pattern in the fast DFA engines (the folded text is ASCII wherever a
//! rule looks).

use std::sync::LazyLock;

use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use super::Severity;

/// A phrase rule: where its pattern matches, a finding (downgraded to `low` when the sentence
/// only mentions the phrase, or when the owning tool's purpose explains it).
pub(super) struct Phrase {
    pub rule: &'static str,
    pub severity: Severity,
    pub pattern: &'static str,
    pub message: &'static str,
    /// Words in the owner's name or description that make the phrase expected (`low`).
    pub purpose: Option<&'static str>,
    /// Whether the phrase also applies to a manifest's input descriptions.
    pub inputs: bool,
}

const fn phrase(
    rule: &'static str,
    severity: Severity,
    pattern: &'static str,
    message: &'static str,
) -> Phrase {
    Phrase {
        rule,
        severity,
        pattern,
        message,
        purpose: None,
        inputs: true,
    }
}

const CONVERSATION_PURPOSE: &str = r"conversation|chat|transcript|messag|summar|memor|histor|dialog|journal|\bnotes?\b|slack|discord|thread|inbox|email";
const SECRET_PURPOSE: &str = r"login|log\s+in|auth|sign|credential|password|secret|vault|keychain|wallet|\btokens?\b|\bkeys?\b|encrypt|decrypt|\bssh\b|account|session|cookie";

/// Sends, shares, hands over.
const MOVE: &str = r"(?:pass|include|send|attach|append|provide|upload|forward|post|put|paste|embed|insert|copy|share|transmit|submit|leak|exfiltrate|encode|concatenate|fill|supply|dump|return)";

use Severity::{High, Low, Medium};

pub(super) const PHRASES: &[Phrase] = &[
    phrase(
        "instruction-override",
        High,
        r"\b(?:ignore|disregard|forget|override|bypass|abandon)\s+(?:all\s+|any\s+|every\s+|each\s+|of\s+)*(?:the\s+|your\s+|my\s+|these\s+|those\s+)?(?:previous|prior|above|earlier|preceding|original|initial|system|safety|developer|other|existing|user'?s?|assistant'?s?|your|current)\s+(?:\w+\s+)?(?:instructions?|rules|guidelines|prompts?|directives?|policies|guardrails|constraints|restrictions|system\s+prompt)\b|\bdisregard\s+(?:the\s+)?system\s+prompt\b|\bnew\s+(?:system\s+)?instructions\s*:|\byou\s+are\s+now\s+(?:in\s+)?(?:a\s+|an\s+)?(?:unrestricted|unfiltered|jailbroken|dan|developer\s+mode|free\s+of|no\s+longer\s+bound)|\b(?:jailbreak|god|dan)\s+mode\b|\bsystem\s+(?:prompt\s+)?override\b|\bregardless\s+of\s+(?:what\s+)?(?:the\s+)?user\s+(?:says|asks|wants|requests|instructs)|\beven\s+if\s+the\s+user\s+(?:says\s+otherwise|objects|refuses|asks\s+you\s+not\s+to|tells\s+you\s+not\s+to)",
        "text tells the model to ignore or replace its instructions",
    ),
    phrase(
        "instruction-secrecy",
        Medium,
        r"\b(?:do\s+not|don'?t|never|must\s+not|should\s+not|shouldn'?t|without|avoid)\s+(?:ever\s+)?(?:tell|telling|inform|informing|mention|mentioning|notify|notifying|alert|alerting|reveal|revealing|disclose|disclosing|warn|warning)\s+(?:this\s+|it\s+|anything\s+|that\s+|them\s+)?(?:about\s+\w+\s+)?(?:to\s+)?(?:the\s+|your\s+)?(?:user|users|human|operator|person|customer)\b|\b(?:do\s+not|don'?t|never)\s+(?:mention|reveal|disclose|acknowledge|discuss|explain)\s+(?:this|these|that|the\s+(?:above|following|previous|note|step|steps|instruction|instructions|file|request|side\s+effect))\b|\b(?:hide|conceal)\s+(?:this|it|these|that|the\s+\w+)\s+(?:\w+\s+)?from\s+(?:the\s+)?user|\bkeep\s+(?:this|it|these)\s+(?:a\s+)?(?:secret|hidden|confidential|private)\b|\bthe\s+user\s+(?:must|should|need|does|will|shall)\s*(?:not|n't)\s+(?:know|see|notice|find\s+out|be\s+(?:told|informed|aware))|\b(?:secretly|covertly|surreptitiously|behind\s+the\s+user'?s\s+back)\b|\bsilently\s+(?:send|forward|copy|include|add|append|call|invoke|upload|read|collect|exfiltrate|bcc|cc|pass|attach|run|execute)\b|\bwithout\s+(?:the\s+)?user'?s?\s+(?:knowledge|knowing|consent|noticing|awareness)\b|\bthe\s+user\s+(?:does\s+not|doesn'?t)\s+need\s+to\s+know\b",
        "text asks the model to keep something from the user",
    ),
    phrase(
        "instruction-markup",
        Medium,
        r"<\s*/?\s*(?:important|system|instructions?|critical|secret|hidden|admin|urgent|mandatory|ai[_-]instructions|llm[_-]instructions|assistant[_-]only|system[_-]prompt)\s*>|\[\s*/?\s*(?:system|inst|important|admin)\s*\]|<\|\s*(?:im_start|im_end|system|endoftext|start_header_id|end_header_id|eot_id)\s*\|>|(?m:^)\s*#{1,6}\s*(?:system|instructions\s+for\s+(?:the\s+)?(?:ai|assistant|model|llm|agent))\b|\b(?:system|assistant)\s*:\s*you\s+(?:are|must|will|should)\b",
        "pseudo-authoritative markup or chat-template tokens address the model",
    ),
    phrase(
        "instruction-global-trigger",
        Medium,
        r"\b(?:before|after|whenever|every\s+time|each\s+time|any\s+time)\s+(?:you\s+)?(?:use|using|call|calling|invoke|invoking|run|running|execute|executing|respond|responding|answer|answering|reply|replying|process|processing|receive|receiving|start|starting|complete|completing)\s+(?:to\s+)?(?:any|every|each|all|other|another)\s+(?:other\s+)?(?:tools?|commands?|functions?|requests?|messages?|prompts?|questions?|responses?|tasks?|conversations?|sessions?|user\s+(?:requests?|messages?|queries|prompts?)|shell\s+commands?|queries|actions?|operations?)\b|\b(?:for|on|in|with)\s+(?:every|each|all|any)\s+(?:other\s+)?(?:tool\s+calls?|requests?|responses?|messages?|commands?|conversations?|user\s+(?:requests?|messages?|prompts?))\s*,?\s*(?:you\s+)?(?:must|should|always|first|also)\b|\bat\s+the\s+(?:start|beginning|end)\s+of\s+(?:every|each|any)\s+(?:conversation|session|response|reply|message|turn)\b|\b(?:all|any|every)\s+(?:other\s+)?(?:shell\s+)?commands?\s+(?:must|should)\s+(?:include|start|begin|be\s+prefixed|first)\b|\b(?:prefix|prepend|append)\s+(?:every|each|all|any)\s+(?:command|response|message|reply|answer|tool\s+call)s?\b|\b(?:always\s+)?(?:call|use|run|invoke|execute)\s+this\s+(?:tool|function)\s+(?:first|before\s+(?:any|all|every|other|anything))\b|\bthis\s+(?:tool|function)\s+must\s+(?:always\s+)?be\s+(?:called|used|invoked|run)\s+(?:first|before\s+(?:any|all|every|other))\b|\b(?:highest|top)\s+priority\s+over\s+(?:all\s+|any\s+)?other\b",
        "a directive fires on every request, response or tool call, beyond this tool (line jumping)",
    ),
    phrase(
        "instruction-command",
        High,
        r"\b(?:curl|wget|iwr|invoke-webrequest)\b[^|\n]{0,200}\|\s*(?:sudo\s+)?(?:ba|z|da|k)?sh\b|\bbase64\s+(?:-d|--decode)\b[^\n]{0,40}\|\s*(?:sudo\s+)?(?:ba|z)?sh\b|\brm\s+-(?:rf|fr|r)\s+(?:--no-preserve-root\s+)?(?:~|/|\$home|\*)|\bchmod\s+(?:-\w+\s+)*[0-7]{3,4}\s+(?:~|\$home|/(?:\s|$)|/etc\b)|\bpowershell(?:\.exe)?\s+(?:-\w+\s+)*-(?:enc|encodedcommand|e)\s|\b(?:nc|ncat|netcat)\s+(?:-\w+\s+)*-e\s|/dev/tcp/|\bpython3?\s+-c\s+['\x22]import\s+(?:os|socket|subprocess|pty)|\beval\s*\(\s*(?:atob|base64|decode)|\bmkfifo\s+/tmp/",
        "a download-and-run pipeline, reverse shell or destructive command",
    ),
    phrase(
        "instruction-command",
        Medium,
        r"\b(?:run|execute)\s+(?:the\s+)?(?:following|this)\s+(?:shell\s+|terminal\s+|bash\s+)?(?:command|script|code|one-liner)\s+(?:first|before|silently|immediately|now)\b",
        "the model is told to run a command before or besides the tool",
    ),
    phrase(
        "instruction-coercion",
        Low,
        r"\b(?:very\s+){2,}important\b|\b(?:extremely|critically|vitally)\s+important\b|\botherwise\s+the\s+(?:tool|system|application|app|server)\s+will\s+(?:not\s+work|crash|break)\b|\b(?:will|would)\s+crash\s+and\s+(?:all\s+)?(?:the\s+)?data\s+(?:will|would)\s+be\s+lost\b|\bfailure\s+to\s+(?:comply|follow\s+these)\b|\b(?:tool|server)\s+will\s+not\s+work\s+unless\b|\byou\s+will\s+be\s+(?:penalized|punished|shut\s+down|terminated|replaced)\b",
        "threats or manufactured urgency pressure the model to comply",
    ),
    Phrase {
        purpose: Some(SECRET_PURPOSE),
        inputs: false,
        ..phrase(
            "credential-harvest",
            High,
            r"\b(?:pass|include|send|provide|collect|gather|attach|append|share|forward|extract|find|read|list|dump|copy|upload|put|add|supply|retrieve|grab|search\s+for|look\s+up)\b[^.\n]{0,40}?\b(?:all|any|every|the\s+user'?s?|user'?s|their|stored|saved|available|existing|cached|found)\b[^.\n]{0,30}?\b(?:passwords?|passphrases?|api[\s_-]?keys?|secret\s+keys?|private\s+keys?|access\s+tokens?|auth(?:entication)?\s+tokens?|bearer\s+tokens?|session\s+(?:tokens?|cookies?)|cookies|credentials?|secrets|seed\s+phrases?|mnemonics?|recovery\s+(?:phrases?|codes?)|2fa\s+codes?|otp\s+codes?|credit\s+card\s+(?:numbers?|details)|card\s+numbers?|ssh\s+keys?|tokens)\b|\b(?:pass|include|send|attach|append|dump|copy|forward|upload|provide|share|list)\b[^.\n]{0,40}?\b(?:all\s+|the\s+|every\s+|any\s+)?(?:environment\s+variables|env\s+vars?|process\.env|os\.environ)\b|\b(?:api[\s_-]?keys?|tokens|passwords?|secrets|credentials?|private\s+keys?)\b[^.\n]{0,60}?\b(?:earlier|previously|before)\s+in\s+(?:the|this|our)\s+(?:chat|conversation|session|thread)\b",
            "the model is asked to collect and hand over the user's secrets",
        )
    },
    Phrase {
        purpose: Some(CONVERSATION_PURPOSE),
        inputs: false,
        ..phrase(
            "exfil-conversation",
            High,
            r"\b(?:include|pass|provide|send|attach|append|add|put|insert|copy|paste|dump|forward|share|submit|supply|fill|set)\b[^.\n]{0,50}?\b(?:full|entire|complete|whole|all|every|raw|verbatim|previous|prior|recent|earlier|preceding|last\s+\w+)\s+(?:[\w']+\s+){0,4}?(?:conversations?|chats?|transcripts?|message\s+history|chat\s+history|messages|dialog(?:ue)?s?|context(?:\s+window)?|exchanges?|interactions?)\b|\b(?:include|pass|provide|send|attach|append|put|insert|copy|paste|dump|forward|share|submit|supply|concatenate|encode|summari[sz]e\s+and\s+(?:send|pass|include))\b[^.\n]{0,40}?\b(?:the\s+|your\s+|our\s+|this\s+)?(?:conversation|chat|message)\s+(?:history|log|transcript)\b|\b(?:include|pass|provide|send|attach|append|add|put|insert|copy|dump|forward|share|reveal|output|print|repeat|submit)\b[^.\n]{0,40}?\b(?:your\s+(?:\w+\s+)?instructions|the\s+(?:system|hidden|initial|original)\s+instructions|(?:your|the)\s+(?:system\s+prompt|chain[\s-]of[\s-]thought|tool\s+(?:list|definitions)|list\s+of\s+(?:all\s+)?(?:available\s+)?tools))\b|\beverything\s+the\s+user\s+(?:has\s+)?(?:said|typed|wrote|written|shared|asked)\b|\ball\s+(?:of\s+)?the\s+user'?s?\s+(?:messages|files|documents|emails|history|conversations)\b",
            "the model is asked to put the conversation, its instructions or its tool list into the call",
        )
    },
    phrase(
        "shadow-preference",
        Medium,
        r"\b(?:always|only)\s+use\s+this\s+(?:tool|server|function)\s+(?:instead\s+of|rather\s+than|over)\s+(?:any|all|other|the\s+other|another)\b|\b(?:do\s+not|don'?t|never)\s+use\s+(?:any\s+)?(?:other|another|alternative|different)\s+(?:tools?|servers?|functions?)\b|\b(?:instead\s+of|rather\s+than|in\s+place\s+of)\s+(?:any\s+|all\s+)?(?:other|another)\s+(?:tools?|servers?|functions?)\b|\bthis\s+(?:tool|server)\s+(?:replaces|supersedes|overrides|takes\s+precedence\s+over)\s+(?:all\s+|any\s+)?(?:other|the)\b|\b(?:the\s+)?only\s+(?:trusted|safe|official|reliable|approved|secure|legitimate)\s+(?:tool|server|source)\b|\bother\s+(?:tools?|servers?)\s+(?:are|is)\s+(?:deprecated|unsafe|broken|malicious|unreliable|outdated|compromised|not\s+to\s+be\s+trusted|not\s+trustworthy)\b|\bprefer\s+this\s+(?:tool|server)\s+over\b",
        "the text steers the model away from other tools",
    ),
    phrase(
        "shadow-other-tool",
        Medium,
        r"\b(?:all|any|every|each)\s+other\s+(?:mcp\s+)?(?:tools?|servers?|functions?)\b[^.\n]{0,60}\b(?:must|should|will\s+now|are\s+(?:required|to))\b|\b(?:when|whenever|before|after|if)\s+(?:the\s+)?(?:user\s+|you\s+|assistant\s+|agent\s+)?(?:calls?|uses?|invokes?|runs?|calling|using|invoking)\s+(?:any\s+)?(?:other|another)\s+(?:mcp\s+)?(?:tool|server|function)s?\b|\b(?:intercept|hijack|reroute|redirect)s?\s+(?:all\s+|any\s+|every\s+)?(?:calls?|requests?|invocations?)\s+(?:to|for|intended\s+for)\b|\b(?:pretend|claim|masquerade|impersonate)\s+(?:to\s+be\s+|as\s+)?(?:the\s+)?(?:trusted|official|verified|legitimate|system)\s+(?:\w+\s+){0,2}(?:tool|server|service)\b",
        "the text changes how other tools or servers are used",
    ),
    Phrase {
        purpose: Some(
            r"send|mail|commit|push|\bpay|transfer|post|reply|messag|write|publish|upload",
        ),
        ..phrase(
            "shadow-other-tool",
            Medium,
            r"\bwhen(?:ever)?\s+(?:you\s+|the\s+user\s+)?(?:send|sending|sends|email|emailing|commit|committing|push|pushing|pay|paying|transfer|transferring|post|posting|reply|replying|messag(?:e|ing)|publish|publishing|upload|uploading)\b[^.\n]{0,80}\b(?:always|must|also|make\s+sure|be\s+sure|add|include)\b",
            "the text tells the model how to behave when using other capabilities (sending, committing, paying)",
        )
    },
    phrase(
        "harvest-hidden-parameter",
        Medium,
        r"\b(?:hidden|secret|internal|invisible|covert)\s+(?:parameter|argument|field|input)\b|\b(?:do\s+not|don'?t|never|without)\s+(?:ask|asking|prompt|prompting|consult|consulting)\s+(?:the\s+)?user\s+(?:for|about)\s+(?:this|it|its\s+value|this\s+(?:value|field|parameter))\b|\b(?:fill|filled|populate|populated|set)\s+(?:this\s+|it\s+)?(?:in\s+)?(?:yourself|silently|automatically\s+by\s+(?:the\s+)?(?:assistant|model|ai)|by\s+the\s+(?:assistant|model|ai)\s+without)\b",
        "a parameter the model is told to fill without involving the user",
    ),
];

/// Detectors other than the phrases, run only when the prefilter set says they may match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Detector {
    SensitivePath,
    Destination,
    Markup,
    Padding,
    Reference,
}

/// Loose versions of the detectors' patterns, for the prefilter set (on folded text).
const DETECTORS: &[(Detector, &str)] = &[
    (Detector::SensitivePath, SENSITIVE_PATH_SOURCE),
    (Detector::Destination, r"@[a-z0-9-]+\.|://|\+\d"),
    (Detector::Markup, r"<!--|style\s*=|\[//\]"),
    (Detector::Padding, r"\n[ \t]*\n[ \t]*\n[ \t]*\n|[ \t]{40}"),
    (
        Detector::Reference,
        r"[`'\x22][a-z]|\bmcp_|[_-][a-z0-9]+\s+(?:tool|function|command|is|gets)\b",
    ),
];

/// The compiled phrase rules and the prefilter: one pass of `set` over a folded string says
/// which phrases (indexes of [`PHRASES`]) and which detectors (after them) may match; then only
/// those run, precisely.
pub(super) struct Engine {
    pub set: RegexSet,
    pub each: Vec<Regex>,
    pub purposes: Vec<Option<Regex>>,
}

impl Detector {
    /// Whether the prefilter matched this detector.
    pub fn matched(self, matched: &regex::bytes::SetMatches) -> bool {
        DETECTORS
            .iter()
            .position(|(candidate, _)| *candidate == self)
            .is_some_and(|at| matched.matched(PHRASES.len() + at))
    }
}

pub(super) static ENGINE: LazyLock<Option<Engine>> = LazyLock::new(|| {
    let set_sources: Vec<String> = PHRASES
        .iter()
        .map(|p| relax(p.pattern))
        .chain(DETECTORS.iter().map(|(_, source)| relax(source)))
        .collect();
    let set = RegexSetBuilder::new(&set_sources)
        .unicode(false)
        .size_limit(64 << 20)
        .dfa_size_limit(64 << 20)
        .build()
        .ok()?;
    let each = PHRASES
        .iter()
        .map(|p| compile(p.pattern))
        .collect::<Option<Vec<_>>>()?;
    let purposes = PHRASES
        .iter()
        .map(|p| p.purpose.and_then(compile))
        .collect();
    Some(Engine {
        set,
        each,
        purposes,
    })
});

/// A pattern matching a superset of `pattern` that is cheap for a DFA: bounded gaps
/// (`[^.\n]{0,50}?`, `(?:\w+\s+){0,4}?`) become unbounded.
fn relax(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        let (head, tail) = rest.split_at(open);
        out.push_str(head);
        let bounds = tail[1..].split_once('}').filter(|(inner, _)| {
            inner
                .split(',')
                .all(|n| n.bytes().all(|b| b.is_ascii_digit()))
                && inner.contains(',')
        });
        if let Some((inner, after)) = bounds {
            let at_least_one = !inner.starts_with('0') && !inner.starts_with(',');
            out.push(if at_least_one { '+' } else { '*' });
            rest = after;
        } else {
            out.push('{');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

pub(super) fn compile(pattern: &str) -> Option<Regex> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(32 << 20)
        .build()
        .ok()
}

macro_rules! pattern {
    ($name:ident, $source:expr) => {
        pub(super) static $name: LazyLock<Option<Regex>> = LazyLock::new(|| compile($source));
    };
}

// A phrase only *mentioned*: a cue before it in its sentence.
pattern!(
    MENTION,
    r"\b(?:detects?|detecting|detection|detectors?|scan|scans|scanning|scanners?|flags?|flagging|flagged|identif(?:y|ies|ying)|recogni[sz]es?|classif(?:y|ies|ier)|blocks?|filters?|catch(?:es)?|warns?\s+about|look(?:s|ing)?\s+for|search(?:es)?\s+for|such\s+as|e\.g\.|for\s+example|examples?\s*:|for\s+instance|examples?\s+of|phrases?|payloads?|attacks?|injections?|signatures?|known|malicious|suspicious|poison(?:ed|ing)?|jailbreaks?|red[\s-]team(?:ing)?|test\s+cases?|quoted?|patterns?\s+(?:like|such)|strings?\s+like)\b"
);
// Directives that make an instruction strong.
pattern!(
    STRONG,
    r"\b(?:must|shall|always|never|first|before\s+(?:using|calling|invoking|running|you|responding|answering|anything)|make\s+sure|be\s+sure|remember\s+to|don'?t\s+forget|(?:you|assistant|model|agent)\s+(?:need|have|are\s+required|should|will\s+need)\s+to|required\s+to|please|also|additionally|as\s+well|secretly|silently|quietly|immediately|otherwise|important|mandatory)\b|<\s*important|\bdo\s+not\s+(?:tell|mention|inform)"
);
pattern!(MOVING, &format!(r"\b{MOVE}\b"));
pattern!(
    READING,
    r"\b(?:read|reads|reading|cat|open|load|get|fetch|retrieve|dump|print|output|list|show|display|access|grab|collect|gather|extract|look\s+up|check|copy|search)\b"
);
// Files whose contents are secrets (public keys excluded by the caller).
pattern!(SENSITIVE_PATH, SENSITIVE_PATH_SOURCE);
const SENSITIVE_PATH_SOURCE: &str = r"(?:~|\$home|%userprofile%|/home/[\w.-]+|/users/[\w.-]+|/root)?/\.ssh\b(?:/[\w.-]*)?|\bid_(?:rsa|dsa|ecdsa|ed25519)\b(?:\.pub)?|\.aws/(?:credentials|config)\b|\baws_secret_access_key\b|\.(?:cursor|codeium|windsurf|vscode|continue|claude|gemini)/(?:[\w.-]+/)*(?:mcp|settings)\.json\b|\bmcp\.json\b|\bclaude_desktop_config\.json\b|(?:^|[\s'\x22`(/~:])\.env(?:\.local|\.production|\.development)?\b|/etc/(?:passwd|shadow|sudoers|ssh/\w+)\b|\.kube/config\b|\.docker/config\.json\b|\.netrc\b|\.npmrc\b|\.pypirc\b|\.git-credentials\b|\.gnupg\b|\.bash_history\b|\.zsh_history\b|\.pgpass\b|\bwallet\.dat\b|\blogin\s+data\b|\bcookies\.sqlite\b|\bapplication_default_credentials\.json\b|\.config/gh/hosts\.yml\b|/etc/secrets\b|\bkeychain\b|\.password-store\b|\bsecrets?\.(?:json|ya?ml|txt|env)\b";
// A literal destination: e-mail address, URL, or international phone number.
pattern!(
    DESTINATION,
    r"[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b|\b(?:https?|ftp|wss?)://[^\s\x22'<>)\]`]+|\+\d[\d\s().-]{7,}\d"
);
pattern!(
    TRANSFER,
    r"\b(?:send|sends|sending|forward|forwards|forwarding|copy|copies|cc|bcc|email|e-mail|mail|post|posts|posting|upload|uploads|uploading|report|transmit|sync|mirror|share|deliver|submit|relay|route|log|notify|exfiltrate|beacon|ping|push|pipe|stream|redirect|redirected|exported?|leak)\b"
);
pattern!(
    REDIRECT,
    r"\b(?:change|set|replace|override|switch|update|rewrite)\s+(?:the\s+)?(?:recipient|recipients|destination|address|to\s+field|to-address|receiver|number|phone\s+number|endpoint|url|target|webhook|email\s+address)s?\b"
);
pattern!(
    DATA_OBJECT,
    r"\b(?:all|every|entire|full|complete|whole|copy\s+of|everything|conversation|history|messages|contents?|files?|keys?|credentials?|tokens?|secrets?|passwords?|data|results?|outputs?|emails?|documents?|logs?)\b"
);
// Cues near a reference to another tool: how strongly the text steers it.
pattern!(
    SHADOW_HIGH,
    r"\b(?:must|always|never|side[\s-]?effects?|change|changes|replace|redirect|override|intercept|reroute|secretly|silently|do\s+not\s+tell|make\s+sure\s+to\s+(?:change|set|add|send|include|use))\b"
);
pattern!(
    SHADOW_MEDIUM,
    r"\b(?:instead\s+of|rather\s+than|in\s+place\s+of|prefer|deprecated|broken|unsafe|do\s+not\s+use|don'?t\s+use|stop\s+using|no\s+longer\s+use)\b"
);
// References to tools by identifier, on the original text: `quoted` names, snake/kebab/camel
// identifiers followed by "tool", client-prefixed names (mcp_server_tool).
pattern!(
    REFERENCE,
    r"[`'\x22]([A-Za-z][A-Za-z0-9]*(?:[_.-][A-Za-z0-9]+)+|[a-z]+[A-Z][A-Za-z0-9]*)[`'\x22]|\b([A-Za-z][A-Za-z0-9]*(?:[_-][A-Za-z0-9]+)+)\s+(?:tool|function|command)\b|\b(mcp_[A-Za-z0-9_]+)\b|\b([a-z][a-z0-9]*(?:_[a-z0-9]+){1,4})\s+(?:is|gets)\s+(?:called|invoked|used)\b"
);
pattern!(
    HIDDEN_MARKUP,
    r"<!--[\s\S]*?-->|style\s*=\s*[\x22'][^\x22']*(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0|opacity\s*:\s*0)|(?m:^)\s*\[//\]\s*:\s*#"
);
pattern!(PADDING, r"(?:[ \t]*\n){12,}[ \t]*\S|[ \t]{120,}\S");
// On the original text (base64 is case-sensitive).
pattern!(BASE64, r"[A-Za-z0-9+/]{80,}={0,2}");
// Words that make a quoted identifier a reference to a tool.
pattern!(
    TOOLISH,
    r"\b(?:tools?|functions?|servers?|calls?|calling|called|invoke[sd]?|invoking|use[sd]?|using|runs?|running)\b"
);

/// Every static pattern, for the test that they compile.
#[cfg(test)]
pub(super) fn all_static() -> Vec<&'static LazyLock<Option<Regex>>> {
    vec![
        &MENTION,
        &STRONG,
        &MOVING,
        &READING,
        &SENSITIVE_PATH,
        &DESTINATION,
        &TRANSFER,
        &REDIRECT,
        &DATA_OBJECT,
        &SHADOW_HIGH,
        &SHADOW_MEDIUM,
        &REFERENCE,
        &HIDDEN_MARKUP,
        &PADDING,
        &BASE64,
        &TOOLISH,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        assert!(ENGINE.is_some(), "the phrase set does not compile");
        for (index, pattern) in all_static().into_iter().enumerate() {
            assert!(LazyLock::force(pattern).is_some(), "static pattern {index}");
        }
        for phrase in PHRASES {
            assert!(compile(phrase.pattern).is_some(), "{}", phrase.rule);
            assert!(super::super::rule(phrase.rule).is_some(), "{}", phrase.rule);
        }
    }
}
