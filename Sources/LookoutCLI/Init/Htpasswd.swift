import HummingbirdBcrypt

/// `user:hash` lines for nginx `auth_basic_user_file`.
///
/// nginx verifies with the system's crypt(3); Debian's libxcrypt (and the nginx images, Debian-
/// and Alpine-based) accept bcrypt `$2b$`/`$2y$` hashes, which the tests prove with a real nginx.
public enum Htpasswd {
    /// nginx runs bcrypt on every request (it caches nothing), and log agents push every few
    /// seconds. The usual cost 10–12 protects weak human passwords; ours are ~190-bit random
    /// strings that no amount of hashing makes easier to guess, so a low cost keeps each request
    /// cheap without weakening anything. Measured here (Python bcrypt, one core): cost 6 ≈ 5 ms
    /// per check, cost 10 ≈ 60 ms. secrets/README.md uses the same cost.
    public static let cost: UInt8 = 6

    public static func line(user: String, password: String, cost: UInt8 = cost) -> String {
        "\(user):\(Bcrypt.hash(password, cost: cost))"
    }

    /// True when `file` (htpasswd text) has a line for `user` whose hash matches `password`.
    public static func verify(file: String, user: String, password: String) -> Bool {
        for line in file.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0] == user else { continue }
            if Bcrypt.verify(password, hash: String(parts[1])) { return true }
        }
        return false
    }
}
