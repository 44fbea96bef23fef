import HTTPTypes

extension HTTPFields {
    /// The same answer as `self[name]`, without its cost in the common case: HTTPTypes joins
    /// the values through a lazy sequence even when there is only one, and that showed up in
    /// the profile (a few header reads on every push). Two or more fields still go through
    /// `self[name]`, so repeated headers are combined exactly as before.
    func value(of name: HTTPField.Name) -> String? {
        var found: String?
        for field in self where field.name == name {
            guard found == nil else { return self[name] }
            found = field.value
        }
        return found
    }
}
