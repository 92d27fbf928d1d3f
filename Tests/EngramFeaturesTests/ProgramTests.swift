import Foundation
import Testing

@testable import EngramFeatures

/// The repository's data directory (Tests/EngramFeaturesTests/../../data).
func dataPath(_ file: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data").appendingPathComponent(file)
        .path
}

func program(_ lines: String) throws -> FeatureProgram {
    try FeatureProgram(parsing: "engram-features 1\n" + lines)
}

func parseError(_ text: String) -> FeatureError? {
    do {
        _ = try FeatureProgram(parsing: text)
        return nil
    } catch let error as FeatureError {
        return error
    } catch {
        return nil
    }
}

// MARK: - Brace expansion

@Test func braceExpansionIsACartesianProductLeftToRight() throws {
    let names = try program("win({co2,temp},{4,12},{mean,std})")
        .features(channels: ["co2", "temp"]).map(\.name)
    #expect(
        names == [
            "win(co2,4,mean)", "win(co2,4,std)", "win(co2,12,mean)", "win(co2,12,std)",
            "win(temp,4,mean)", "win(temp,4,std)", "win(temp,12,mean)", "win(temp,12,std)",
        ])
}

@Test func ordersRangesNestedSetsAndWildcard() throws {
    let lines = """
        d{0,2}:lag(x,{1..3})   # orders vary slowest
        sub({x,y},win({x,lag(y,2)},3,mean))
        d1:*
        """
    let names = try program(lines).features(channels: ["x", "y"]).map(\.name)
    #expect(
        names == [
            "lag(x,1)", "lag(x,2)", "lag(x,3)", "d2:lag(x,1)", "d2:lag(x,2)", "d2:lag(x,3)",
            "sub(x,win(x,3,mean))", "sub(x,win(lag(y,2),3,mean))",
            "sub(y,win(x,3,mean))", "sub(y,win(lag(y,2),3,mean))",
            "d1:x", "d1:y",
        ])
}

@Test func diffDefaultsToOneAndNamesAreCanonical() throws {
    let features = try program("  diff( x )  \nwin ( x , 3 , max )").features(channels: ["x"])
    #expect(features.map(\.name) == ["diff(x,1)", "win(x,3,max)"])
}

@Test func quotedChannelNamesRoundTrip() throws {
    let channels = ["co2 (ppm)", "say \"hi\"", "d1", "a.b_c"]
    let features = try program("lag(*,1)\nd1:\"co2 (ppm)\"  # a # in a comment\nd1")
        .features(channels: channels)
    #expect(features.count == 6)
    #expect(features[1].name == #"lag("say ""hi""",1)"#)
    #expect(features[4].name == #"d1:"co2 (ppm)""#)
    #expect(features[5] == Feature(.channel("d1")))
    for feature in features { #expect(try Feature(parsing: feature.name) == feature) }
}

// MARK: - Round trip on real data

@Test func defaultProgramNamesRoundTripOnMacrodata() throws {
    let reader = try CSVReader(path: dataPath("macrodata.csv"))
    #expect(reader.header.count == 14)
    let features = try FeatureProgram.default.features(channels: reader.header)
    #expect(features.count == 12 * 14)
    #expect(Set(features.map(\.name)).count == features.count)
    for feature in features {
        let parsed = try Feature(parsing: feature.name)
        #expect(parsed == feature, "\(feature.name)")
        #expect(parsed.name == feature.name)
    }
    #expect(features.map(\.lookback).max() == 32)
}

// MARK: - Errors

@Test func parseErrorNamesLineAndColumnWithCaret() throws {
    let error = try #require(parseError("engram-features 1\n# ok\nwin(co2,4 mean)\n"))
    #expect(error.code == .parse)
    #expect(error.line == 3)
    #expect(error.column == 11)
    #expect(error.excerpt == "  win(co2,4 mean)\n            ^")
    #expect(error.description.contains("line 3, column 11"))
}

@Test func errorsHaveStableCodes() throws {
    let cases: [(String, FeatureError.Code, Int?)] = [
        ("lag(x,1)\n", .version, 1),
        ("engram-features 2\nx\n", .version, 1),
        ("engram-features 1\nlag(x,0)\n", .argument, 2),
        ("engram-features 1\nwin(x,{4,1},std)\n", .argument, 2),
        ("engram-features 1\nd3:x\n", .argument, 2),
        ("engram-features 1\nfoo(x,1)\n", .parse, 2),
        ("engram-features 1\nwin(x,3,median)\n", .parse, 2),
        ("engram-features 1\nlag(x,1) y\n", .parse, 2),
        ("engram-features 1\nlead(x,1)\n", .parse, 2),
        ("engram-features 1\n\"x\n", .parse, 2),
        ("engram-features 1\n{x,y\n", .parse, 2),
    ]
    for (text, code, line) in cases {
        let error = try #require(parseError(text), "\(text)")
        #expect(error.code == code, "\(text): \(error)")
        #expect(error.line == line, "\(text): \(error)")
    }
}

@Test func bindingErrors() throws {
    let duplicate = #expect(throws: FeatureError.self) {
        try program("lag(x,{1,2})\n\nlag(*,1)").features(channels: ["x"])
    }
    #expect(duplicate?.code == .duplicate)
    #expect(duplicate?.message.contains("lines 2 and 4") == true)

    let unknown = #expect(throws: FeatureError.self) {
        try program("win(x,3,mean)\nsub(x, temp)").features(channels: ["x", "y"])
    }
    #expect(unknown?.code == .unknownChannel)
    #expect(unknown?.line == 3 && unknown?.column == 8)

    let empty = #expect(throws: FeatureError.self) {
        try program("# nothing\n").features(channels: ["x"])
    }
    #expect(empty?.code == .parse)
    #expect(throws: FeatureError.self) { try Feature(parsing: "lag(x,{1,2})") }
    #expect(throws: FeatureError.self) { try Feature(parsing: "win(*,3,max)") }
}

@Test func programFilesAreRead() throws {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("engram-program-\(UUID().uuidString).efp")
    try "engram-features 1\r\n# crlf file\r\nd{1,2}:win(x,{3,5},sum)\r\n"
        .write(to: url, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: url) }
    let program = try FeatureProgram(contentsOfFile: url.path)
    #expect(program.version == 1)
    #expect(try program.features(channels: ["x"]).count == 4)
    let missing = #expect(throws: FeatureError.self) {
        try FeatureProgram(contentsOfFile: url.path + ".absent")
    }
    #expect(missing?.code == .io)
    #expect(try FeatureProgram(parsing: FeatureProgram.defaultText) == FeatureProgram.default)
}
