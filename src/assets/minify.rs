//! Minifiers: CSS with lightningcss, JavaScript with oxc, HTML with minify-html. Each keeps
//! the input's meaning; a file that does not parse is an error naming it, never a silent copy.

use lightningcss::stylesheet::{MinifyOptions, ParserOptions, PrinterOptions, StyleSheet};
use oxc_allocator::Allocator;
use oxc_codegen::{Codegen, CodegenOptions};
use oxc_minifier::{CompressOptions, MangleOptions, Minifier, MinifierOptions};
use oxc_parser::Parser;
use oxc_span::SourceType;

use crate::error::{line_col, Diagnostic};

pub fn minify_css(css: &str, origin: &str) -> Result<String, Diagnostic> {
    let mut sheet = StyleSheet::parse(
        css,
        ParserOptions {
            filename: origin.to_string(),
            ..ParserOptions::default()
        },
    )
    .map_err(|e| match &e.loc {
        Some(l) => Diagnostic::at(
            origin,
            l.line as usize + 1,
            l.column as usize,
            format!("CSS: {}", e.kind),
        ),
        None => Diagnostic::new(origin, format!("CSS: {}", e.kind)),
    })?;
    sheet
        .minify(MinifyOptions::default())
        .map_err(|e| Diagnostic::new(origin, format!("CSS: {}", e.kind)))?;
    let out = sheet
        .to_css(PrinterOptions {
            minify: true,
            ..PrinterOptions::default()
        })
        .map_err(|e| Diagnostic::new(origin, format!("CSS: {}", e.kind)))?;
    Ok(out.code)
}

pub fn minify_js(js: &str, origin: &str) -> Result<String, Diagnostic> {
    let allocator = Allocator::default();
    let module = origin.ends_with(".mjs") || js.contains("import ") || js.contains("export ");
    let source_type = if module { SourceType::mjs() } else { SourceType::cjs() };
    let parsed = Parser::new(&allocator, js, source_type).parse();
    if let Some(e) = parsed.errors.first() {
        let offset = e
            .labels
            .as_ref()
            .and_then(|l| l.first())
            .map(|l| l.offset())
            .unwrap_or(0);
        let (l, c) = line_col(js, offset);
        return Err(Diagnostic::at(origin, l, c, format!("JavaScript: {}", e.message)));
    }
    let mut program = parsed.program;
    Minifier::new(MinifierOptions {
        mangle: Some(MangleOptions::default()),
        compress: Some(CompressOptions::safest()),
    })
    .minify(&allocator, &mut program);
    let out = Codegen::new()
        .with_options(CodegenOptions {
            minify: true,
            ..CodegenOptions::default()
        })
        .build(&program)
        .code;
    Ok(out)
}

/// Minified HTML; inline CSS and JS are minified too.
pub fn minify_html(html: &[u8]) -> Vec<u8> {
    let cfg = minify_html::Cfg {
        minify_css: true,
        minify_js: true,
        keep_closing_tags: true,
        keep_html_and_head_opening_tags: true,
        ..minify_html::Cfg::default()
    };
    minify_html::minify(html, &cfg)
}
