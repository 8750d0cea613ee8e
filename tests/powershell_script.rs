//! The PowerShell script wsus-airgap runs on WSUS servers (`powershell/wsus-airgap.ps1`).
//! No PowerShell runs where the tests run, so the script is parsed with the tree-sitter
//! PowerShell grammar: any syntax error fails. And it is searched for the ways a script can
//! turn data into code: none may appear.

use std::path::Path;

const SCRIPT: &str = include_str!("../powershell/wsus-airgap.ps1");

/// Every ERROR and MISSING node of `source`, with its line and the text around it.
fn syntax_errors(source: &str) -> Vec<String> {
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .expect("the PowerShell grammar loads");
    let tree = parser
        .parse(source, None)
        .expect("the parser returns a tree");
    let mut errors = Vec::new();
    let mut cursor = tree.walk();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.is_error() || node.is_missing() {
            let line = node.start_position().row + 1;
            let text = &source[node.byte_range()];
            let kind = if node.is_missing() {
                "missing"
            } else {
                "error"
            };
            errors.push(format!(
                "line {line}: {kind} {}: {:?}",
                node.kind(),
                text.chars().take(60).collect::<String>()
            ));
        }
        if node.has_error() {
            stack.extend(node.children(&mut cursor));
        }
    }
    errors
}

#[test]
fn the_script_parses_without_syntax_errors() {
    let errors = syntax_errors(SCRIPT);
    assert!(errors.is_empty(), "syntax errors:\n{}", errors.join("\n"));
}

#[test]
fn the_parse_rejects_broken_powershell() {
    // The check above can fail: each of these is broken PowerShell.
    for broken in [
        "function Get-Thing {\n    param($a)\n    if ($a) { 'yes' \n",
        "$x = @{ a = 1; b = ",
        "foreach ($item in $list) { Write-Output $item ))",
        "try { 1 } catch { 2 ",
    ] {
        assert!(
            !syntax_errors(broken).is_empty(),
            "accepted as valid: {broken}"
        );
    }
    // And a correct snippet passes, so that the rejections above are not of everything.
    assert_eq!(
        syntax_errors("function Get-Thing {\n    param($a)\n    if ($a) { 'yes' }\n}\n"),
        Vec::<String>::new()
    );
}

/// The lines of `source` outside comments (`#` lines and `<# ... #>` blocks), lower case.
fn code_lines(source: &str) -> Vec<(usize, String)> {
    let mut in_block = false;
    let mut lines = Vec::new();
    for (index, line) in source.lines().enumerate() {
        let trimmed = line.trim();
        if in_block {
            in_block = !trimmed.contains("#>");
            continue;
        }
        if trimmed.starts_with("<#") {
            in_block = !trimmed.contains("#>");
            continue;
        }
        if trimmed.starts_with('#') {
            continue;
        }
        lines.push((index + 1, line.to_ascii_lowercase()));
    }
    lines
}

/// What would let a script run text as code: `Invoke-Expression` and its alias `iex`,
/// script blocks made from strings, compiled source (`Add-Type`), and the call operator `&`
/// (which, given a string, runs the command that string names).
fn code_from_strings(source: &str) -> Vec<String> {
    let words = |line: &str| -> Vec<String> {
        line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .filter(|word| !word.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let mut found = Vec::new();
    for (number, line) in code_lines(source) {
        let words = words(&line);
        let mut hits = Vec::new();
        for word in ["invoke-expression", "iex", "add-type", "invoke-command"] {
            if words.iter().any(|w| w == word) {
                hits.push(word);
            }
        }
        if line.contains("scriptblock]::create") || line.contains("newscriptblock") {
            hits.push("[scriptblock]::Create");
        }
        // `&` outside strings as a command: at the start of a statement or after `|`, `(`,
        // `=` or `;`. (`-band`-style operators are words, and `&&` is not used.)
        let code: String = without_strings(&line);
        if code
            .split(['|', '(', '=', ';', '{'])
            .any(|part| part.trim_start().starts_with('&'))
        {
            hits.push("&");
        }
        for hit in hits {
            found.push(format!("line {number}: {hit}"));
        }
    }
    found
}

/// `line` with the text of quoted strings removed.
fn without_strings(line: &str) -> String {
    let mut out = String::new();
    let mut quote = None;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None => out.push(c),
        }
    }
    out
}

#[test]
fn the_script_builds_no_code_from_strings() {
    let found = code_from_strings(SCRIPT);
    assert!(found.is_empty(), "code from strings:\n{}", found.join("\n"));
}

#[test]
fn the_code_from_strings_check_finds_each_form() {
    for (snippet, expected) in [
        ("Invoke-Expression $text", "invoke-expression"),
        ("$x = iex $text", "iex"),
        (
            "$block = [ScriptBlock]::Create($text)",
            "[scriptblock]::Create",
        ),
        ("Add-Type -TypeDefinition $source", "add-type"),
        ("& $command $arguments", "&"),
        ("$out = & (\"Get-\" + $name)", "&"),
        ("Get-Thing | & $next", "&"),
    ] {
        let found = code_from_strings(snippet);
        assert_eq!(found, [format!("line 1: {expected}")], "{snippet}");
    }
    // Comments and strings are not code.
    assert!(code_from_strings("# Invoke-Expression is never used\n'a & b'\n").is_empty());
}

#[test]
fn the_binary_embeds_this_script() {
    // The library's copy is this file, byte for byte.
    assert_eq!(wsus_airgap::wsus::script::SCRIPT, SCRIPT);
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("powershell/wsus-airgap.ps1")
            .is_file()
    );
}
