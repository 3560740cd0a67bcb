// Small, dependency-free SVG line charts for reports: axes with ticks
// (linear or log10 x), one polyline per series, optional dashed series, and a
// legend. Output is deterministic text, so equal results give equal files.
import Foundation

public struct ChartSeries: Sendable {
    public var name: String
    public var points: [(x: Double, y: Double)]
    public var dashed = false

    public init(name: String, points: [(x: Double, y: Double)], dashed: Bool = false) {
        self.name = name
        self.points = points
        self.dashed = dashed
    }
}

public struct LineChart: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [ChartSeries]
    public var logX = false
    public var yRange: ClosedRange<Double>? = nil

    public init(title: String, xLabel: String, yLabel: String, series: [ChartSeries], logX: Bool = false,
                yRange: ClosedRange<Double>? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.logX = logX
        self.yRange = yRange
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    public func svg(width: Int = 720, height: Int = 420) -> String {
        let (left, right, top, bottom) = (70.0, 200.0, 40.0, 50.0)
        let plotW = Double(width) - left - right, plotH = Double(height) - top - bottom
        let all = series.flatMap(\.points).filter { !logX || $0.x > 0 }
        var xs = all.map { logX ? log10($0.x) : $0.x }, ys = all.map(\.y)
        if xs.isEmpty { xs = [0, 1] }
        if ys.isEmpty { ys = [0, 1] }
        var (x0, x1) = (xs.min()!, xs.max()!)
        if x1 - x0 < 1e-12 { (x0, x1) = (x0 - 0.5, x1 + 0.5) }
        var (y0, y1) = yRange.map { ($0.lowerBound, $0.upperBound) } ?? (min(0, ys.min()!), ys.max()! * 1.05)
        if y1 - y0 < 1e-12 { (y0, y1) = (y0 - 0.5, y1 + 0.5) }
        func px(_ x: Double) -> Double { left + ((logX ? log10(x) : x) - x0) / (x1 - x0) * plotW }
        func py(_ y: Double) -> Double { top + (1 - (y - y0) / (y1 - y0)) * plotH }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" font-family=\"sans-serif\" font-size=\"12\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"\(f(left))\" y=\"22\" font-size=\"15\" font-weight=\"bold\">\(Self.escape(title))</text>\n"
        // Axes and ticks.
        out += "<line x1=\"\(f(left))\" y1=\"\(f(top + plotH))\" x2=\"\(f(left + plotW))\" y2=\"\(f(top + plotH))\" stroke=\"black\"/>\n"
        out += "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotH))\" stroke=\"black\"/>\n"
        for tick in Self.ticks(x0, x1, log: logX) {
            let x = logX ? pow(10, tick) : tick
            let sx = px(x)
            out += "<line x1=\"\(f(sx))\" y1=\"\(f(top))\" x2=\"\(f(sx))\" y2=\"\(f(top + plotH))\" stroke=\"#eee\"/>\n"
            out += "<text x=\"\(f(sx))\" y=\"\(f(top + plotH + 16))\" text-anchor=\"middle\">\(Self.label(x))</text>\n"
        }
        for y in Self.ticks(y0, y1, log: false) {
            let sy = py(y)
            out += "<line x1=\"\(f(left))\" y1=\"\(f(sy))\" x2=\"\(f(left + plotW))\" y2=\"\(f(sy))\" stroke=\"#eee\"/>\n"
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(sy + 4))\" text-anchor=\"end\">\(Self.label(y))</text>\n"
        }
        out += "<text x=\"\(f(left + plotW / 2))\" y=\"\(height - 12)\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        out += "<text transform=\"translate(16 \(f(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(yLabel))</text>\n"
        // Series and legend.
        for (i, s) in series.enumerated() {
            let color = Self.palette[i % Self.palette.count]
            let pts = s.points.filter { !logX || $0.x > 0 }.map { "\(f(px($0.x))),\(f(py(min(max($0.y, y0), y1))))" }
            if !pts.isEmpty {
                out += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(s.dashed ? " stroke-dasharray=\"6 4\"" : "") points=\"\(pts.joined(separator: " "))\"/>\n"
            }
            let ly = top + 8 + Double(i) * 18
            out += "<line x1=\"\(f(left + plotW + 12))\" y1=\"\(f(ly))\" x2=\"\(f(left + plotW + 36))\" y2=\"\(f(ly))\" stroke=\"\(color)\" stroke-width=\"2\"\(s.dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
            out += "<text x=\"\(f(left + plotW + 42))\" y=\"\(f(ly + 4))\">\(Self.escape(s.name))</text>\n"
        }
        out += "</svg>\n"
        return out
    }

    /// About five round ticks over [a, b] (in log10 units for a log axis: whole decades).
    static func ticks(_ a: Double, _ b: Double, log: Bool) -> [Double] {
        if log { return Array(Int(floor(a))...Int(ceil(b))).map(Double.init).filter { $0 >= a - 1e-9 && $0 <= b + 1e-9 } }
        let raw = (b - a) / 5
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var out: [Double] = []
        var t = ceil(a / step) * step
        while t <= b + step * 1e-9, out.count < 50 {
            out.append(t)
            t += step
        }
        return out
    }

    static func label(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e9 { return String(Int64(v)) }
        return String(format: abs(v) < 0.01 ? "%.3g" : "%.2f", v)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
