import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` with environment variables set (a value) or unset (nil) in this process, and
/// puts every one of them back as it was afterwards, thrown error or not.
public func withEnvironment<T>(_ values: [String: String?], _ body: () throws -> T) rethrows -> T {
    let saved = values.keys.map { name in (name, getenv(name).map { String(cString: $0) }) }
    defer {
        for (name, value) in saved {
            if let value { setenv(name, value, 1) } else { unsetenv(name) }
        }
    }
    for (name, value) in values {
        if let value { setenv(name, value, 1) } else { unsetenv(name) }
    }
    return try body()
}
