/// Strong random secrets for `.env` and the edge's htpasswd files.
///
/// `SystemRandomNumberGenerator` reads the kernel's CSPRNG (getrandom(2) on Linux,
/// arc4random_buf on Apple platforms), so it is suitable for secrets.
public enum SecretGenerator {
    /// Letters and digits only: no `$` (Compose interpolates it), no quotes or `#` (.env syntax),
    /// no `:` (htpasswd and basic-auth separator), so a secret never needs escaping anywhere.
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

    /// 32 characters of a 62-letter alphabet: about 190 bits of entropy.
    public static func password(length: Int = 32) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
    }
}
