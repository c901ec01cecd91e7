import Foundation
import PasticheCore
import PasticheImage
import PasticheModels

/// Accumulates named wall-clock phases and prints them as one line per report (diagnostics).
final class PhaseTimer {
    let enabled: Bool
    private var entries: [(String, Double)] = []
    init(enabled: Bool) { self.enabled = enabled }

    func time<T>(_ name: String, _ body: () -> T) -> T {
        guard enabled else { return body() }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let r = body()
        entries.append((name, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9))
        return r
    }

    func report() {
        guard enabled, !entries.isEmpty else { return }
        let total = entries.reduce(0) { $0 + $1.1 }
        let parts = entries.map { String(format: "%@ %.3f s", $0.0, $0.1) }.joined(separator: ", ")
        FileHandle.standardError.write(Data("phases: \(parts); total \(String(format: "%.3f", total)) s\n".utf8))
        entries.removeAll()
    }
}
