import Glibc

/// Strict JSON decoding for the spec: unknown fields and type errors become `AEError.invalidSpec`
/// messages that name the field by its dotted path.

/// "training.early_stopping.patience", "conv_blocks[0].kernel": a field's path as users write it.
func dottedPath(_ keys: [CodingKey]) -> String {
    keys.reduce("") { path, key in
        if let index = key.intValue { return path + "[\(index)]" }
        return path.isEmpty ? key.stringValue : path + "." + key.stringValue
    }
}

extension Decoder {
    /// Throws if the JSON object being decoded has a key outside `keys` and `extra`.
    func rejectUnknownFields<Keys: CodingKey & CaseIterable>(_ keys: Keys.Type, extra: [String] = []) throws {
        let container = try self.container(keyedBy: AnyCodingKey.self)
        let allowed = Set(Keys.allCases.map(\.stringValue) + extra)
        for key in container.allKeys where !allowed.contains(key.stringValue) {
            let path = dottedPath(codingPath + [key])
            throw AEError.invalidSpec(
                "unknown field '\(path)'; allowed here: \(allowed.sorted().joined(separator: ", "))")
        }
    }
}

extension KeyedDecodingContainer {
    /// decodeIfPresent with a default, so every optional field reads as one line.
    func value<T: Decodable>(_ key: Key, default fallback: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback
    }
}

extension KeyedDecodingContainer {
    /// An integer field. Decoded through Double so a fraction such as 2.5 is reported against its
    /// field (Foundation's own error for it names no field).
    func integer(_ key: Key) throws -> Int {
        try Self.integral(decode(Double.self, forKey: key), at: codingPath + [key])
    }

    func integer(_ key: Key, default fallback: Int) throws -> Int {
        try contains(key) && !decodeNil(forKey: key) ? integer(key) : fallback
    }

    func integers(_ key: Key) throws -> [Int] {
        try decode([Double].self, forKey: key).map { try Self.integral($0, at: codingPath + [key]) }
    }

    func integers(_ key: Key, default fallback: [Int]) throws -> [Int] {
        try contains(key) && !decodeNil(forKey: key) ? integers(key) : fallback
    }

    /// A size given as one integer or a list of integers.
    func sizes(_ key: Key) throws -> [Int] {
        if let one = try? decode(Double.self, forKey: key) { return [try Self.integral(one, at: codingPath + [key])] }
        return try integers(key)
    }

    private static func integral(_ value: Double, at path: [CodingKey]) throws -> Int {
        guard value.rounded() == value, abs(value) < 9.0e15 else {
            let name = dottedPath(path)
            throw AEError.invalidSpec("field '\(name)' must be an integer, got \(value)")
        }
        return Int(value)
    }
}

enum SpecJSON {
    static func decode<T: Decodable>(_ type: T.Type, from json: String) throws -> T {
        do {
            return try JSONDecoding.decode(T.self, from: json)
        } catch let error as AEError {
            throw error
        } catch let DecodingError.typeMismatch(type, context) {
            if context.codingPath.isEmpty { throw AEError.invalidSpec("spec must be a JSON object") }
            throw AEError.invalidSpec("field '\(path(context))' must be \(describe(type)); \(context.debugDescription)")
        } catch let DecodingError.valueNotFound(type, context) {
            throw AEError.invalidSpec("field '\(path(context))' must be \(describe(type)), not null")
        } catch let DecodingError.keyNotFound(key, context) {
            let full = dottedPath(context.codingPath + [key])
            throw AEError.invalidSpec("required field '\(full)' is missing")
        } catch let DecodingError.dataCorrupted(context) {
            let where_ = context.codingPath.isEmpty ? "spec is not valid JSON" : "field '\(path(context))'"
            let detail = context.underlyingError.map { "\($0)" } ?? context.debugDescription
            throw AEError.invalidSpec("\(where_): \(detail)")
        } catch {
            throw AEError.invalidSpec("\(error)")
        }
    }

    /// Pretty-printed with sorted keys; "" for a value that cannot be JSON (a non-finite number).
    static func encode<T: Encodable>(_ value: T) -> String {
        (try? JSONEncoding.encode(value)).map(JSONWriter.write) ?? ""
    }

    private static func path(_ context: DecodingError.Context) -> String { dottedPath(context.codingPath) }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is UInt64.Type: return "an integer"
        case is Float.Type, is Double.Type: return "a number"
        case is [Double].Type, is [Int].Type: return "a list of numbers"
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        default: return "\(type)"
        }
    }
}

/// A string-valued choice in the spec (public only because Decodable is); an unknown value is rejected with the list of valid ones.
public protocol SpecChoice: RawRepresentable, CaseIterable, Codable where RawValue == String {}

extension SpecChoice {
    public init(from decoder: Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(rawValue: raw) else {
            let path = dottedPath(decoder.codingPath)
            let valid = Self.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            throw AEError.invalidSpec("field '\(path)' is '\(raw)'; valid values: \(valid)")
        }
        self = value
    }
}

extension ActivationFunction: SpecChoice {}
extension ConvolutionPadding: SpecChoice {}
extension PoolingKind: SpecChoice {}
extension LossFunction: SpecChoice {}
extension SparsityPenalty.Kind: SpecChoice {}
extension Corruption.Kind: SpecChoice {}
