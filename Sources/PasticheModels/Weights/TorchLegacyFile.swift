import Foundation

/// Reads PyTorch's legacy `torch.save` format (the one before the zip container of PyTorch 1.6,
/// `torch/serialization.py`, `_legacy_save`) without torch: a run of pickles, then the raw
/// storages.
///
///   pickle 1  the magic number 0x1950a86a20f9469cfc6c
///   pickle 2  the protocol version, 1001
///   pickle 3  sys_info: {"protocol_version", "little_endian", "type_sizes"}
///   pickle 4  the saved object; every storage is a persistent id
///             ("storage", torch.XStorage, key, location, element count, view metadata) and every
///             tensor `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)`
///   pickle 5  the storage keys, in the order their bytes follow
///   then, per key: an int64 element count, then count × element size bytes (little-endian)
///
/// Only what a `state_dict` of plain tensors needs is understood: dicts (and `OrderedDict`)
/// with string keys, lists, tuples, numbers, strings, storages and contiguous tensors. Anything
/// else (an arbitrary class, code) is refused in one line; nothing in the file is executed.
public enum TorchLegacyFile {
    /// One tensor's element type and its bytes, contiguous, row-major.
    public struct StoredTensor {
        public var dtype: DType
        public var shape: [Int]
        public var bytes: Data
        public var count: Int { shape.reduce(1, *) }

        /// The values as Float (float32, float64 and uint8 storages).
        public func floats() -> [Float] {
            bytes.withUnsafeBytes { raw -> [Float] in
                switch dtype {
                case .float32: return Array(raw.bindMemory(to: Float.self))
                case .float64: return raw.bindMemory(to: Double.self).map(Float.init)
                case .uint8: return raw.bindMemory(to: UInt8.self).map(Float.init)
                case .int8: return raw.bindMemory(to: Int8.self).map(Float.init)
                case .int16: return raw.bindMemory(to: Int16.self).map(Float.init)
                case .int32: return raw.bindMemory(to: Int32.self).map(Float.init)
                case .int64: return raw.bindMemory(to: Int64.self).map { Float($0) }
                }
            }
        }
    }

    public enum DType: String, Sendable {
        case uint8, int8, int16, int32, int64, float32, float64
        var size: Int {
            switch self {
            case .uint8, .int8: return 1
            case .int16: return 2
            case .int32, .float32: return 4
            case .int64, .float64: return 8
            }
        }
        /// torch's legacy storage class names.
        init?(storageClass: String) {
            switch storageClass {
            case "ByteStorage": self = .uint8
            case "CharStorage": self = .int8
            case "ShortStorage": self = .int16
            case "IntStorage": self = .int32
            case "LongStorage": self = .int64
            case "FloatStorage": self = .float32
            case "DoubleStorage": self = .float64
            default: return nil
            }
        }
    }

    static let magic: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]  // 0x1950a86a20f9469cfc6c, little-endian

    public static func read(path: String) throws -> [String: StoredTensor] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError("\(path): cannot read the file")
        }
        return try parse(data, name: path)
    }

    /// The saved dict of tensors, by key.
    public static func parse(_ data: Data, name: String) throws -> [String: StoredTensor] {
        func bad(_ why: String) -> ModelError { ModelError("\(name): not a legacy torch.save file of tensors (\(why))") }
        if data.starts(with: [0x50, 0x4b, 0x03, 0x04]) {
            throw bad("it is a zip archive: PyTorch 1.6+ format, not the legacy one")
        }
        var reader = PickleReader(data)
        do {
            guard case .int = try reader.load(), reader.lastLongBytes == magic else { throw bad("no magic number") }
            guard case .int(1001) = try reader.load() else { throw bad("protocol version is not 1001") }
            guard case .dict(let info) = try reader.load() else { throw bad("no sys_info") }
            if case .bool(false)? = info["little_endian"] { throw bad("saved big-endian") }
            let root = try reader.load()
            guard case .list(let keyValues) = try reader.load() else { throw bad("no storage key list") }
            let keys = try keyValues.map { v -> String in
                guard case .string(let s) = v else { throw bad("a storage key is not a string") }
                return s
            }
            // The storages, in key order.
            var storages: [String: Data] = [:]
            var offset = reader.position
            for key in keys {
                guard let ref = reader.storages[key] else { throw bad("storage \(key) is listed but never used") }
                guard offset + 8 <= data.count else { throw bad("truncated before storage \(key)") }
                let count = data.withUnsafeBytes { Int(Int64(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: Int64.self))) }
                // Sizes come from the file: every product and sum is checked, none may trap.
                guard count >= 0, count == ref.count, count <= (data.count - offset - 8) / ref.dtype.size else {
                    throw bad("storage \(key) is truncated or its size does not match")
                }
                let bytes = count * ref.dtype.size
                storages[key] = data.subdata(in: (offset + 8)..<(offset + 8 + bytes))
                offset += 8 + bytes
            }
            return try tensors(of: root, storages: storages, refs: reader.storages, bad: bad)
        } catch let e as PickleError {
            throw bad(e.message)
        }
    }

    /// The saved dict's tensors: each `TensorRef` cut from its storage's bytes (row-major
    /// contiguous only, every size and offset checked against the storage).
    static func tensors(of root: PickleValue, storages: [String: Data], refs: [String: StorageRef],
                        bad: (String) -> ModelError) throws -> [String: StoredTensor] {
        guard case .dict(let entries) = root else { throw bad("the saved object is not a dict") }
        var tensors: [String: StoredTensor] = [:]
        for (key, value) in entries {
            guard case .tensor(let t) = value else { throw bad("entry '\(key)' is not a tensor") }
            guard let ref = refs[t.storage], let bytes = storages[t.storage] else {
                throw bad("entry '\(key)' names a missing storage")
            }
            // Row-major contiguous strides only (what state_dict tensors are).
            guard t.shape.count == t.stride.count, t.shape.allSatisfy({ $0 >= 0 }), t.offset >= 0 else {
                throw bad("entry '\(key)' has a negative size or offset, or strides that do not match its shape")
            }
            var expected = 1
            for (size, stride) in zip(t.shape, t.stride).reversed() {
                guard size == 1 || stride == expected else { throw bad("entry '\(key)' is not contiguous") }
                let (product, overflow) = expected.multipliedReportingOverflow(by: size)
                guard !overflow, product <= ref.count else { throw bad("entry '\(key)' lies outside its storage") }
                expected = product
            }
            let count = expected
            guard t.offset <= ref.count - count else { throw bad("entry '\(key)' lies outside its storage") }
            let size = ref.dtype.size
            tensors[key] = StoredTensor(dtype: ref.dtype, shape: t.shape,
                                        bytes: bytes.subdata(in: (t.offset * size)..<((t.offset + count) * size)))
        }
        return tensors
    }
}

struct PickleError: Error { let message: String }

/// The values a `state_dict` pickle builds.
indirect enum PickleValue {
    case none, bool(Bool), int(Int), float(Double), string(String)
    case tuple([PickleValue]), list([PickleValue]), dict([String: PickleValue])
    case global(String)
    case storage(key: String)
    case tensor(TensorRef)
    case mark
}

struct TensorRef { let storage: String; let offset: Int; let shape: [Int]; let stride: [Int] }
struct StorageRef { let dtype: TorchLegacyFile.DType; let count: Int }

/// A pickle machine for protocols 2–4 that knows only the opcodes a tensor dict uses, and builds
/// only the two callables a tensor dict needs (`_rebuild_tensor_v2`, `OrderedDict`).
struct PickleReader {
    let data: Data
    var position = 0
    var storages: [String: StorageRef] = [:]
    /// The bytes of the last LONG1 read (the magic number does not fit an Int).
    var lastLongBytes: [UInt8] = []

    init(_ data: Data) { self.data = data }

    private mutating func byte() throws -> UInt8 {
        guard position < data.count else { throw PickleError(message: "truncated pickle") }
        defer { position += 1 }
        return data[data.startIndex + position]
    }
    private mutating func bytes(_ n: Int) throws -> [UInt8] {
        guard n >= 0, position + n <= data.count else { throw PickleError(message: "truncated pickle") }
        defer { position += n }
        return Array(data[(data.startIndex + position)..<(data.startIndex + position + n)])
    }
    private mutating func uint(_ n: Int) throws -> Int {
        try bytes(n).reversed().reduce(0) { $0 << 8 | Int($1) }
    }
    private mutating func line() throws -> String {
        var out: [UInt8] = []
        while true {
            let b = try byte()
            if b == 0x0a { break }
            out.append(b)
            if out.count > 256 { throw PickleError(message: "overlong GLOBAL name") }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Containers may nest this deep (a state_dict needs 3).
    static let maximumDepth = 32

    /// Runs one pickle to its STOP and returns what it built. The file is hostile until proven
    /// otherwise: nesting is bounded (`maximumDepth`), and so are the values built (a few per
    /// byte of the file, so a memoized list appended to again and again cannot grow memory as
    /// the square of the file).
    mutating func load() throws -> PickleValue {
        struct Entry { var value: PickleValue; var depth: Int }
        var stack: [Entry] = []
        var memo: [Int: Entry] = [:]
        var built = 0
        let budget = 16 * data.count + 65_536
        func push(_ v: PickleValue, _ depth: Int = 0) { stack.append(Entry(value: v, depth: depth)) }
        func container(_ v: PickleValue, count: Int, children: [Entry]) throws {
            let depth = 1 + (children.map(\.depth).max() ?? 0)
            built += count + 1
            guard depth <= Self.maximumDepth else { throw PickleError(message: "values nested deeper than \(Self.maximumDepth)") }
            guard built <= budget else { throw PickleError(message: "more values than a file of its size holds") }
            stack.append(Entry(value: v, depth: depth))
        }
        func pop() throws -> Entry {
            guard let v = stack.popLast() else { throw PickleError(message: "stack underflow") }
            return v
        }
        func popMark() throws -> [Entry] {
            guard let i = stack.lastIndex(where: { if case .mark = $0.value { return true }; return false }) else {
                throw PickleError(message: "no MARK")
            }
            let items = Array(stack[(i + 1)...])
            stack.removeSubrange(i...)
            return items
        }
        func key(_ v: PickleValue) throws -> String {
            guard case .string(let s) = v else { throw PickleError(message: "a dict key is not a string") }
            return s
        }
        func setItems(_ items: [Entry]) throws {
            let target = try pop()
            guard items.count % 2 == 0, case .dict(var d) = target.value else { throw PickleError(message: "SETITEMS on a non-dict") }
            for i in stride(from: 0, to: items.count, by: 2) { d[try key(items[i].value)] = items[i + 1].value }
            try container(.dict(d), count: d.count, children: [target] + items)
        }
        func int(_ v: PickleValue) throws -> Int {
            guard case .int(let i) = v else { throw PickleError(message: "expected an integer") }
            return i
        }
        func ints(_ v: PickleValue) throws -> [Int] {
            guard case .tuple(let t) = v else { throw PickleError(message: "expected a tuple of integers") }
            return try t.map(int)
        }
        func memoize(_ index: Int) throws {
            guard let v = stack.last else { throw PickleError(message: "stack underflow") }
            memo[index] = v
        }
        while true {
            let op = try byte()
            switch op {
            case 0x80: _ = try byte()                                            // PROTO
            case 0x95: _ = try bytes(8)                                          // FRAME
            case 0x2e: return try pop().value                                    // STOP
            case 0x7d: push(.dict([:]))                                          // EMPTY_DICT
            case 0x5d: push(.list([]))                                           // EMPTY_LIST
            case 0x29: push(.tuple([]))                                          // EMPTY_TUPLE
            case 0x28: push(.mark)                                               // MARK
            case 0x4e: push(.none)                                               // NONE
            case 0x88: push(.bool(true))                                         // NEWTRUE
            case 0x89: push(.bool(false))                                        // NEWFALSE
            case 0x4b: push(.int(try uint(1)))                                   // BININT1
            case 0x4d: push(.int(try uint(2)))                                   // BININT2
            case 0x4a: push(.int(Int(Int32(truncatingIfNeeded: try uint(4)))))   // BININT
            case 0x8a:                                                           // LONG1
                let n = Int(try byte())
                let b = try bytes(n)
                lastLongBytes = b
                // Two's complement, little-endian; only the values that fit an Int are exact.
                var v = 0
                for (i, x) in b.prefix(8).enumerated() { v |= Int(x) << (8 * i) }
                if n > 0 && n < 8 && b.last! & 0x80 != 0 { v -= 1 << (8 * n) }
                push(.int(v))
            case 0x47:                                                           // BINFLOAT (big-endian)
                let bits = try bytes(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                push(.float(Double(bitPattern: bits)))
            case 0x58: push(.string(String(decoding: try bytes(try uint(4)), as: UTF8.self)))  // BINUNICODE
            case 0x8c: push(.string(String(decoding: try bytes(try uint(1)), as: UTF8.self)))  // SHORT_BINUNICODE
            case 0x71: try memoize(try uint(1))                                  // BINPUT
            case 0x72: try memoize(try uint(4))                                  // LONG_BINPUT
            case 0x94: try memoize(memo.count)                                   // MEMOIZE
            case 0x68, 0x6a:                                                     // BINGET, LONG_BINGET
                let i = try uint(op == 0x68 ? 1 : 4)
                guard let v = memo[i] else { throw PickleError(message: "memo \(i) is unset") }
                stack.append(v)
            case 0x63:                                                           // GLOBAL
                let module = try line(), name = try line()
                push(.global("\(module).\(name)"))
            case 0x93:                                                           // STACK_GLOBAL
                guard case .string(let name) = try pop().value, case .string(let module) = try pop().value else {
                    throw PickleError(message: "STACK_GLOBAL needs two strings")
                }
                push(.global("\(module).\(name)"))
            case 0x74: let items = try popMark(); try container(.tuple(items.map(\.value)), count: items.count, children: items)  // TUPLE
            case 0x85: let a = try pop(); try container(.tuple([a.value]), count: 1, children: [a])            // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); try container(.tuple([a.value, b.value]), count: 2, children: [a, b])  // TUPLE2
            case 0x87:                                                           // TUPLE3
                let c = try pop(), b = try pop(), a = try pop()
                try container(.tuple([a.value, b.value, c.value]), count: 3, children: [a, b, c])
            case 0x73: let v = try pop(), k = try pop(); try setItems([k, v])    // SETITEM
            case 0x75: try setItems(try popMark())                               // SETITEMS
            case 0x61, 0x65:                                                     // APPEND, APPENDS
                let items = op == 0x61 ? [try pop()] : try popMark()
                let target = try pop()
                guard case .list(var l) = target.value else { throw PickleError(message: "APPEND on a non-list") }
                l.append(contentsOf: items.map(\.value))
                try container(.list(l), count: l.count, children: [target] + items)
            case 0x51:                                                           // BINPERSID
                guard case .tuple(let pid) = try pop().value, pid.count >= 5, case .string("storage") = pid[0],
                      case .global(let cls) = pid[1], case .string(let key) = pid[2] else {
                    throw PickleError(message: "a persistent id is not a storage")
                }
                let className = String(cls.split(separator: ".").last ?? "")
                guard let dtype = TorchLegacyFile.DType(storageClass: className) else {
                    throw PickleError(message: "unsupported storage type \(cls)")
                }
                if pid.count > 5, case .none = pid[5] {} else if pid.count > 5 {
                    throw PickleError(message: "storage views are not supported")
                }
                let count = try int(pid[4])
                guard count >= 0 else { throw PickleError(message: "storage \(key) has a negative size") }
                storages[key] = StorageRef(dtype: dtype, count: count)
                push(.storage(key: key))
            case 0x52:                                                           // REDUCE
                guard case .tuple(let args) = try pop().value, case .global(let callable) = try pop().value else {
                    throw PickleError(message: "REDUCE needs a callable and a tuple")
                }
                switch callable {
                case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
                    guard args.count >= 4, case .storage(let key) = args[0] else {
                        throw PickleError(message: "a tensor without a storage")
                    }
                    push(.tensor(TensorRef(storage: key, offset: try int(args[1]), shape: try ints(args[2]),
                                           stride: try ints(args[3]))))
                case "collections.OrderedDict":
                    guard args.isEmpty else { throw PickleError(message: "OrderedDict with arguments") }
                    push(.dict([:]))
                default:
                    throw PickleError(message: "it builds \(callable), which is not a tensor")
                }
            case 0x62:                                                           // BUILD
                // An OrderedDict's state (a state_dict's `_metadata` attribute) is not an entry.
                _ = try pop()
                guard case .dict = stack.last?.value else { throw PickleError(message: "BUILD on a non-dict") }
            default:
                throw PickleError(message: String(format: "unsupported pickle opcode 0x%02x at byte %d", op, position - 1))
            }
        }
    }
}
