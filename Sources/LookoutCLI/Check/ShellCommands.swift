/// The programs a shell command line runs: the first word of each simple command, after
/// variable assignments and redirections, builtins left out. Enough for healthcheck one-liners
/// (`exec 3<>/dev/tcp/… && head -n1 <&3 | grep -q 200`), not a shell grammar; the same rule as
/// lab/labkit/image_manifest.py.
enum ShellCommands {
    /// Builtins of every shell the images have (ash, dash, bash): never a program in the image.
    static let builtins: Set<String> = ["exec", "printf", "echo", "test", "[", "exit", "true", "false", "cd", "read",
                                        "set", "export", ":", "eval", "command", "shift", "unset", "return", "trap",
                                        "wait", "kill"]
    static let operators: Set<String> = ["&&", "||", ";", "|", "&", "(", ")", "!"]
    static let punctuation: Set<Character> = [";", "&", "|", "(", ")", "<", ">", "!"]

    /// Words and runs of punctuation, with quotes removed (like Python's shlex in POSIX mode
    /// with punctuation_chars).
    static func tokens(_ script: String) -> [String] {
        var tokens: [String] = []
        var word = ""
        var inWord = false
        var punct = ""
        var chars = Array(script)[...]
        func flushWord() { if inWord { tokens.append(word); word = ""; inWord = false } }
        func flushPunct() { if !punct.isEmpty { tokens.append(punct); punct = "" } }
        while let c = chars.popFirst() {
            if punctuation.contains(c) {
                flushWord()
                punct.append(c)
                continue
            }
            flushPunct()
            switch c {
            case " ", "\t", "\n":
                flushWord()
            case "'":
                inWord = true
                while let q = chars.popFirst(), q != "'" { word.append(q) }
            case "\"":
                inWord = true
                while let q = chars.popFirst(), q != "\"" {
                    if q == "\\", let next = chars.popFirst() { word.append(next) } else { word.append(q) }
                }
            case "\\":
                inWord = true
                if let next = chars.popFirst() { word.append(next) }
            default:
                inWord = true
                word.append(c)
            }
        }
        flushWord()
        flushPunct()
        return tokens
    }

    static func commands(_ script: String) -> [String] {
        let tokens = tokens(script)
        func isRedirection(_ i: Int) -> Bool {
            i < tokens.count && !tokens[i].isEmpty && tokens[i].allSatisfy { "<>&".contains($0) }
        }
        var words: [String] = []
        var start = true
        var i = 0
        while i < tokens.count {
            let token = tokens[i]
            if operators.contains(token) {
                start = true
            } else if isRedirection(i) {
                i += 1                                   // skip its target
            } else if !token.isEmpty, token.allSatisfy(\.isNumber), isRedirection(i + 1) {
                // the file descriptor of 2>&1, 3<>…
            } else if start, token.contains("="), !token.hasPrefix("=") {
                // VAR=value before the command
            } else if start {
                start = false
                if !builtins.contains(token) { words.append(token) }
            }
            i += 1
        }
        return words
    }
}
