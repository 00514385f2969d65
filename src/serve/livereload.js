// sitegen live reload: injected into every HTML page served by `sitegen serve`.
(() => {
  const OVERLAY_ID = "sitegen-error-overlay";
  let hadError = false;

  function showOverlay(errors) {
    hadError = true;
    let el = document.getElementById(OVERLAY_ID);
    if (!el) {
      el = document.createElement("div");
      el.id = OVERLAY_ID;
      el.setAttribute("role", "alert");
      el.style.cssText = "position:fixed;inset:0;z-index:2147483647;overflow:auto;background:rgba(20,20,24,.94);" +
        "color:#f8f8f2;font:14px/1.5 ui-monospace,SFMono-Regular,Menlo,monospace;padding:2rem;white-space:pre-wrap";
      document.body.appendChild(el);
    }
    el.textContent = "";
    const title = document.createElement("div");
    title.style.cssText = "color:#ff6b6b;font-weight:bold;font-size:16px;margin-bottom:1rem";
    title.textContent = `sitegen: the build failed (${errors.length} error${errors.length === 1 ? "" : "s"})`;
    el.appendChild(title);
    for (const e of errors) {
      const row = document.createElement("div");
      row.className = "sitegen-error";
      row.style.marginBottom = "1rem";
      const where = e.line ? `${e.file}:${e.line}:${e.column ?? 1}` : e.file;
      row.textContent = `${where}\n  ${e.message}`;
      el.appendChild(row);
    }
  }

  function hideOverlay() {
    const el = document.getElementById(OVERLAY_ID);
    if (el) el.remove();
  }

  function swapStylesheets() {
    for (const link of document.querySelectorAll('link[rel="stylesheet"]')) {
      const url = new URL(link.href, location.href);
      if (url.origin !== location.origin) continue;
      url.searchParams.set("sitegen-reload", Date.now().toString());
      link.removeAttribute("integrity");
      link.href = url.toString();
    }
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}/__sitegen/livereload`);
    ws.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.type === "reload") {
        if (msg.paths.includes("*") || msg.paths.includes(location.pathname) || hadError) {
          location.reload();
        } else {
          hideOverlay();
        }
      } else if (msg.type === "css") {
        hideOverlay();
        swapStylesheets();
      } else if (msg.type === "error") {
        showOverlay(msg.errors);
      } else if (msg.type === "ok") {
        if (hadError) location.reload();
      }
    };
    ws.onclose = () => setTimeout(connect, 300);
  }

  connect();
})();
