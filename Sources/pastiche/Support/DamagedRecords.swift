import Foundation
import PasticheLibrary

/// Damaged records a command left out of its (otherwise complete) output: the command ends
/// with this as its one-line error, so a script sees a non-zero exit and the names.
struct DamagedRecordsLeftOut: Error, CustomStringConvertible {
    let damaged: [DamagedRecord]
    var description: String {
        let list = damaged.prefix(5).map(\.description).joined(separator: ", ") + (damaged.count > 5 ? ", …" : "")
        return "\(damaged.count) damaged style record\(damaged.count == 1 ? "" : "s") left out: \(list); "
            + "`pastiche embed rm NAME` removes one, `pastiche embed salvage OUT` copies the readable ones"
    }

    /// Throws when `damaged` is not empty.
    static func check(_ damaged: [DamagedRecord]) throws {
        if !damaged.isEmpty { throw DamagedRecordsLeftOut(damaged: damaged) }
    }
}

/// A check that ran to the end and found something wrong: its output is printed, and this is
/// the command's one-line error.
struct ValidationFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
