/// Encodes `Encodable` values into a `JSONValue` tree. Containers write into shared nodes, so
/// asking an encoder for a keyed container twice (ModelSpec writes its fields, then its
/// penalties) adds to the same object. A non-finite float throws `EncodingError.invalidValue`.
final class JSONEncoding: Encoder {
    /// One value under construction.
    final class Node {
        var value: JSONValue?
        var members: [(key: String, node: Node)]?
        var elements: [Node]?

        var json: JSONValue {
            if let members { return .object(members.map { ($0.key, $0.node.json) }) }
            if let elements { return .array(elements.map(\.json)) }
            return value ?? .null
        }

        /// The child under `key`, replacing an earlier one.
        func member(_ key: String) -> Node {
            let child = Node()
            if members == nil { members = [] }
            members!.removeAll { $0.key == key }
            members!.append((key, child))
            return child
        }

        func element() -> Node {
            let child = Node()
            if elements == nil { elements = [] }
            elements!.append(child)
            return child
        }
    }

    let node: Node
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(node: Node, codingPath: [CodingKey]) {
        self.node = node
        self.codingPath = codingPath
    }

    static func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        let root = Node()
        try value.encode(to: JSONEncoding(node: root, codingPath: []))
        return root.json
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if node.members == nil { node.members = [] }
        return KeyedEncodingContainer(KeyedJSONEncoding<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        if node.elements == nil { node.elements = [] }
        return UnkeyedJSONEncoding(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> SingleValueEncodingContainer { SingleJSONEncoding(node: node, codingPath: codingPath) }
}

/// Writes one value: primitives directly, anything else through its own `encode(to:)`.
private func write<T: Encodable>(_ value: T, into node: JSONEncoding.Node, codingPath: [CodingKey]) throws {
    func finite<F: BinaryFloatingPoint & LosslessStringConvertible>(_ number: F) throws -> JSONValue {
        guard number.isFinite else {
            throw EncodingError.invalidValue(number, .init(codingPath: codingPath, debugDescription: "\(number) is not a JSON number"))
        }
        return .number(JSONWriter.number(number))
    }
    switch value {
    case let flag as Bool: node.value = .bool(flag)
    case let text as String: node.value = .string(text)
    case let number as Float: node.value = try finite(number)
    case let number as Double: node.value = try finite(number)
    case let number as any FixedWidthInteger: node.value = .number("\(number)")
    default: try value.encode(to: JSONEncoding(node: node, codingPath: codingPath))
    }
}

private struct SingleJSONEncoding: SingleValueEncodingContainer {
    let node: JSONEncoding.Node
    let codingPath: [CodingKey]

    mutating func encodeNil() throws { node.value = .null }
    mutating func encode<T: Encodable>(_ value: T) throws { try write(value, into: node, codingPath: codingPath) }
}

private struct KeyedJSONEncoding<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: JSONEncoding.Node
    let codingPath: [CodingKey]

    mutating func encodeNil(forKey key: Key) throws { node.member(key.stringValue).value = .null }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try write(value, into: node.member(key.stringValue), codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        JSONEncoding(node: node.member(key.stringValue), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
        JSONEncoding(node: node.member(key.stringValue), codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> Encoder { JSONEncoding(node: node.member("super"), codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> Encoder { JSONEncoding(node: node.member(key.stringValue), codingPath: codingPath + [key]) }
}

private struct UnkeyedJSONEncoding: UnkeyedEncodingContainer {
    let node: JSONEncoding.Node
    let codingPath: [CodingKey]
    var count: Int { node.elements?.count ?? 0 }

    private var nextPath: [CodingKey] { codingPath + [AnyCodingKey(intValue: count)!] }

    mutating func encodeNil() throws { node.element().value = .null }
    mutating func encode<T: Encodable>(_ value: T) throws {
        let path = nextPath
        try write(value, into: node.element(), codingPath: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = nextPath
        return JSONEncoding(node: node.element(), codingPath: path).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
        let path = nextPath
        return JSONEncoding(node: node.element(), codingPath: path).unkeyedContainer()
    }

    mutating func superEncoder() -> Encoder {
        let path = nextPath
        return JSONEncoding(node: node.element(), codingPath: path)
    }
}
