// adpipe's API docs: renders the OpenAPI 3.x document this server serves at
// openapi.json. Plain JavaScript, no dependencies, nothing fetched from
// elsewhere; every text from the document goes in as text, never as HTML.
"use strict";

(function () {
  const SOURCE = "openapi.json";
  const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
  const REASONS = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 301: "Moved Permanently",
    302: "Found", 304: "Not Modified", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict",
    413: "Content Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Content",
    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
  };
  const MAX_DEPTH = 4;

  const $ = (id) => document.getElementById(id);
  let doc = null;
  const usedIds = new Set();

  // ---------------------------------------------------------- helpers

  function node(tag, attributes, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") element.className = value;
      else element.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      element.append(child instanceof Node ? child : String(child));
    }
    return element;
  }

  function slug(text) {
    return String(text)
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "") || "x";
  }

  function uniqueId(base) {
    let id = base;
    for (let n = 2; usedIds.has(id); n += 1) id = base + "-" + n;
    usedIds.add(id);
    return id;
  }

  const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

  // A local JSON pointer ("#/components/schemas/Ad"); null when it leads nowhere.
  function lookup(ref) {
    if (typeof ref !== "string" || !ref.startsWith("#/")) return null;
    let target = doc;
    for (const raw of ref.slice(2).split("/")) {
      const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
      if (!isObject(target) && !Array.isArray(target)) return null;
      target = target[key];
      if (target === undefined) return null;
    }
    return target;
  }

  // Follows $refs (parameters, responses, bodies), at most a few deep.
  function resolve(value) {
    let current = value;
    for (let hops = 0; isObject(current) && typeof current.$ref === "string" && hops < 8; hops += 1) {
      const target = lookup(current.$ref);
      if (!isObject(target)) return current;
      current = target;
    }
    return current;
  }

  function schemaName(ref) {
    const match = /^#\/components\/schemas\/(.+)$/.exec(ref || "");
    return match ? decodeURIComponent(match[1]).replace(/~1/g, "/").replace(/~0/g, "~") : null;
  }

  function schemaAnchor(name) {
    return "schema-" + slug(name);
  }

  // Relative links and http(s) only: no javascript: or data: URLs.
  function safeHref(url) {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url);
    return !scheme || /^https?$/i.test(scheme[1]);
  }

  // A safe subset of Markdown: paragraphs, "-" lists, `code`, **bold**,
  // *emphasis* and [links](url) with relative or http(s) targets.
  function inline(text) {
    const parts = [];
    const pattern = /`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|\[([^\]]+)\]\(([^)\s]+)\)/g;
    let last = 0;
    let match;
    while ((match = pattern.exec(text)) !== null) {
      if (match.index > last) parts.push(text.slice(last, match.index));
      if (match[1] !== undefined) parts.push(node("code", null, match[1]));
      else if (match[2] !== undefined) parts.push(node("strong", null, match[2]));
      else if (match[3] !== undefined) parts.push(node("em", null, match[3]));
      else if (safeHref(match[5])) parts.push(node("a", { href: match[5] }, match[4]));
      else {
        parts.push(match[0]);
      }
      last = pattern.lastIndex;
    }
    if (last < text.length) parts.push(text.slice(last));
    return parts;
  }

  function prose(text) {
    if (typeof text !== "string" || !text.trim()) return null;
    const container = node("div", { class: "prose" });
    for (const block of text.trim().split(/\n\s*\n/)) {
      const lines = block.split("\n").map((line) => line.trim());
      if (lines.every((line) => /^[-*] /.test(line))) {
        container.append(node("ul", null, lines.map((line) => node("li", null, inline(line.slice(2))))));
      } else {
        container.append(node("p", null, inline(lines.join(" "))));
      }
    }
    return container;
  }

  function reason(code) {
    const number = Number(code);
    if (REASONS[number]) return REASONS[number];
    if (/^[1-5]XX$/i.test(code)) return "Any " + code.toUpperCase();
    if (code === "default") return "Any other status";
    return "";
  }

  // ------------------------------------------------------------ schemas

  function isNullSchema(schema) {
    return isObject(schema) && (schema.type === "null" || (Array.isArray(schema.type) && schema.type.length === 1 && schema.type[0] === "null"));
  }

  // A short type description as nodes: "string (uuid)", "array of Tag",
  // a link for a named schema.
  function typeLabel(schema, depth) {
    depth = depth || 0;
    if (schema === true || schema === undefined || schema === null || (isObject(schema) && Object.keys(schema).length === 0)) {
      return ["any"];
    }
    if (schema === false) return ["nothing"];
    if (!isObject(schema)) return ["?"];
    if (typeof schema.$ref === "string") {
      const name = schemaName(schema.$ref);
      if (name && isObject(doc.components) && isObject(doc.components.schemas) && doc.components.schemas[name] !== undefined) {
        return [node("a", { href: "#" + schemaAnchor(name) }, name)];
      }
      const target = lookup(schema.$ref);
      return target && depth < MAX_DEPTH ? typeLabel(target, depth + 1) : [schema.$ref];
    }
    if (depth > MAX_DEPTH) return ["…"];
    if ("const" in schema) return [JSON.stringify(schema.const)];
    if (Array.isArray(schema.enum)) {
      return [schema.enum.map((value) => JSON.stringify(value)).join(" | ")];
    }
    for (const [key, joiner] of [["oneOf", " | "], ["anyOf", " | "], ["allOf", " & "]]) {
      if (Array.isArray(schema[key]) && schema[key].length) {
        const out = [];
        schema[key].forEach((part, index) => {
          if (index) out.push(joiner);
          out.push(...(isNullSchema(part) ? ["null"] : typeLabel(part, depth + 1)));
        });
        return out;
      }
    }
    const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
    if (!types.length) {
      if (isObject(schema.properties)) return ["object"];
      if (schema.items) return ["array of ", ...typeLabel(schema.items, depth + 1)];
      return ["any"];
    }
    const out = [];
    types.forEach((type, index) => {
      if (index) out.push(" | ");
      if (type === "array") {
        out.push("array of ");
        out.push(...(schema.items ? typeLabel(schema.items, depth + 1) : ["any"]));
      } else if (type === "object" && !isObject(schema.properties) && isObject(schema.additionalProperties)) {
        out.push("map of string to ");
        out.push(...typeLabel(schema.additionalProperties, depth + 1));
      } else if (type === "string" && (schema.format === "binary" || schema.contentMediaType || schema.contentEncoding)) {
        out.push("file (" + (schema.contentMediaType || schema.format || schema.contentEncoding) + ")");
      } else if (schema.format && type !== "null") {
        out.push(type + " (" + schema.format + ")");
      } else {
        out.push(type);
      }
    });
    return out;
  }

  function constraints(schema) {
    if (!isObject(schema)) return null;
    const items = [];
    const add = (label, value) => {
      if (value !== undefined && value !== null) items.push(label + " " + (typeof value === "string" ? value : JSON.stringify(value)));
    };
    add("min length", schema.minLength);
    add("max length", schema.maxLength);
    add("minimum", schema.minimum);
    add("maximum", schema.maximum);
    add("above", typeof schema.exclusiveMinimum === "number" ? schema.exclusiveMinimum : undefined);
    add("below", typeof schema.exclusiveMaximum === "number" ? schema.exclusiveMaximum : undefined);
    add("at least", schema.minItems !== undefined ? schema.minItems + " items" : undefined);
    add("at most", schema.maxItems !== undefined ? schema.maxItems + " items" : undefined);
    add("pattern:", schema.pattern);
    add("default:", schema.default);
    if (schema.examples !== undefined && Array.isArray(schema.examples) && schema.examples.length) {
      add("example:", schema.examples[0]);
    } else {
      add("example:", schema.example);
    }
    if (schema.readOnly) items.push("read-only");
    if (schema.writeOnly) items.push("write-only");
    if (schema.deprecated) items.push("deprecated");
    if (!items.length) return null;
    return node("p", { class: "constraints" }, items.join("; "));
  }

  // The properties of an object schema, allOf parts merged.
  function objectShape(schema, depth) {
    schema = resolve(schema);
    if (!isObject(schema)) return null;
    const shape = { properties: {}, required: new Set() };
    let found = false;
    const merge = (part, level) => {
      part = resolve(part);
      if (!isObject(part) || level > MAX_DEPTH) return;
      if (isObject(part.properties)) {
        found = true;
        Object.assign(shape.properties, part.properties);
      }
      if (Array.isArray(part.required)) part.required.forEach((name) => shape.required.add(name));
      if (Array.isArray(part.allOf)) part.allOf.forEach((inner) => merge(inner, level + 1));
    };
    merge(schema, depth || 0);
    return found ? shape : null;
  }

  function fieldsTable(schema, caption, depth) {
    const shape = objectShape(schema, depth);
    if (!shape) return null;
    const rows = Object.entries(shape.properties).map(([name, property]) => {
      const own = isObject(property) ? property : {};
      const target = resolve(property);
      const description = own.description || (own.$ref ? null : target && target.description);
      let nested = null;
      if (!own.$ref && depth < MAX_DEPTH) {
        const inner = isObject(own.items) && !own.items.$ref ? own.items : own;
        if (inner !== own || isObject(own.properties)) {
          nested = fieldsTable(inner, null, depth + 1);
        }
      }
      return node(
        "tr",
        null,
        node("td", null, node("code", null, name), shape.required.has(name) ? [" ", node("span", { class: "required-mark" }, "required")] : null),
        node("td", null, node("span", { class: "type" }, typeLabel(property, 0))),
        node("td", null, prose(description), constraints(own), nested),
      );
    });
    if (!rows.length) return null;
    return node(
      "div",
      { class: "table-wrap" },
      node(
        "table",
        null,
        caption ? node("caption", null, caption) : null,
        node("thead", null, node("tr", null, node("th", { scope: "col" }, "Field"), node("th", { scope: "col" }, "Type"), node("th", { scope: "col" }, "Description"))),
        node("tbody", null, rows),
      ),
    );
  }

  // A schema where it is used (a body, a response): its name with a link,
  // and its fields.
  function schemaUse(schema) {
    if (!schema) return null;
    const block = node("div", { class: "schema-block" });
    const target = resolve(schema);
    const fields = fieldsTable(schema, null, 0);
    block.append(node("p", null, "Schema: ", node("span", { class: "type" }, typeLabel(schema, 0))));
    if (fields) block.append(fields);
    else if (isObject(target) && target !== schema) block.append(constraints(target) || "");
    const items = isObject(target) && isObject(target.items) ? target.items : null;
    if (!fields && items && !items.$ref) {
      const itemFields = fieldsTable(items, "Each item", 1);
      if (itemFields) block.append(itemFields);
    }
    return block;
  }

  function contentBlocks(content) {
    if (!isObject(content)) return [];
    return Object.entries(content).map(([mediaType, media]) => {
      media = isObject(media) ? media : {};
      const block = node("div", null, node("p", null, "Content type: ", node("code", null, mediaType)));
      block.append(schemaUse(media.schema) || "");
      if (isObject(media.encoding)) {
        const list = node("ul", null);
        for (const [field, encoding] of Object.entries(media.encoding)) {
          if (isObject(encoding) && encoding.contentType) {
            list.append(node("li", null, node("code", null, field), ": ", encoding.contentType));
          }
        }
        if (list.childNodes.length) block.append(node("p", null, "Part content types:"), list);
      }
      const example = media.example !== undefined ? media.example : isObject(media.examples) ? Object.values(media.examples).map(resolve).find((e) => isObject(e) && e.value !== undefined)?.value : undefined;
      if (example !== undefined) {
        block.append(node("p", null, "Example:"), node("pre", null, node("code", null, JSON.stringify(example, null, 2))));
      }
      return block;
    });
  }

  // ---------------------------------------------------------- operations

  function securityText(requirements) {
    if (!Array.isArray(requirements) || !requirements.length) return null;
    const schemes = isObject(doc.components) && isObject(doc.components.securitySchemes) ? doc.components.securitySchemes : {};
    const options = requirements.map((requirement) => {
      const names = Object.keys(requirement || {});
      if (!names.length) return "none";
      return names
        .map((name) => {
          const scheme = resolve(schemes[name]) || {};
          if (scheme.type === "http" && String(scheme.scheme).toLowerCase() === "bearer") {
            return "Authorization: Bearer token (" + name + ")";
          }
          if (scheme.type === "http") return "HTTP " + scheme.scheme + " (" + name + ")";
          if (scheme.type === "apiKey") return "API key in " + scheme.in + " " + scheme.name + " (" + name + ")";
          return name;
        })
        .join(" and ");
    });
    if (options.every((option) => option === "none")) return null;
    return node("p", null, node("strong", null, "Authentication: "), options.join(", or "));
  }

  function parametersTable(parameters) {
    const rows = parameters.map((parameter) => {
      const schema = parameter.schema || (isObject(parameter.content) ? Object.values(parameter.content)[0]?.schema : undefined);
      return node(
        "tr",
        null,
        node("td", null, node("code", null, parameter.name), parameter.required ? [" ", node("span", { class: "required-mark" }, "required")] : null),
        node("td", null, parameter.in),
        node("td", null, node("span", { class: "type" }, typeLabel(schema, 0))),
        node("td", null, prose(parameter.description), constraints(resolve(schema)), parameter.deprecated ? node("p", { class: "deprecated" }, "Deprecated") : null),
      );
    });
    return node(
      "div",
      { class: "table-wrap" },
      node(
        "table",
        null,
        node("thead", null, node("tr", null, ["Name", "In", "Type", "Description"].map((label) => node("th", { scope: "col" }, label)))),
        node("tbody", null, rows),
      ),
    );
  }

  function responseBlock(code, response) {
    response = resolve(response);
    if (!isObject(response)) response = {};
    const title = reason(code);
    const block = node(
      "div",
      { class: "response" },
      node("h5", null, node("span", { class: "status-code" }, code), title ? " " + title : ""),
      prose(response.description),
    );
    if (isObject(response.headers) && Object.keys(response.headers).length) {
      const rows = Object.entries(response.headers).map(([name, header]) => {
        header = resolve(header) || {};
        return node(
          "tr",
          null,
          node("td", null, node("code", null, name)),
          node("td", null, node("span", { class: "type" }, typeLabel(header.schema, 0))),
          node("td", null, prose(header.description)),
        );
      });
      block.append(
        node(
          "div",
          { class: "table-wrap" },
          node(
            "table",
            null,
            node("caption", null, "Headers"),
            node("thead", null, node("tr", null, ["Header", "Type", "Description"].map((label) => node("th", { scope: "col" }, label)))),
            node("tbody", null, rows),
          ),
        ),
      );
    }
    block.append(...contentBlocks(response.content));
    return block;
  }

  function operationBlock(path, method, operation, pathItem, id) {
    const article = node("article", { class: "operation card", id, "aria-labelledby": id + "-title" });
    article.append(
      node(
        "h3",
        { id: id + "-title" },
        node("span", { class: "method method-" + method }, method.toUpperCase()),
        node("span", { class: "path" }, path),
      ),
    );
    if (operation.summary) article.append(node("p", { class: "summary" }, operation.summary));
    if (operation.deprecated) article.append(node("p", { class: "deprecated" }, "Deprecated"));
    article.append(prose(operation.description) || "");
    if (operation.operationId) {
      article.append(node("p", { class: "constraints" }, "Operation ID: ", node("code", null, operation.operationId)));
    }
    article.append(securityText(operation.security !== undefined ? operation.security : doc.security) || "");

    // Path-level parameters, overridden by the operation's own.
    const parameters = new Map();
    for (const list of [pathItem.parameters, operation.parameters]) {
      if (!Array.isArray(list)) continue;
      for (const raw of list) {
        const parameter = resolve(raw);
        if (isObject(parameter) && parameter.name) parameters.set(parameter.in + ":" + parameter.name, parameter);
      }
    }
    if (parameters.size) {
      article.append(node("h4", null, "Parameters"), parametersTable([...parameters.values()]));
    }

    const body = resolve(operation.requestBody);
    if (isObject(body)) {
      article.append(node("h4", null, "Request body", body.required ? " (required)" : " (optional)"));
      article.append(prose(body.description) || "");
      article.append(...contentBlocks(body.content));
    }

    const responses = isObject(operation.responses) ? Object.entries(operation.responses) : [];
    if (responses.length) {
      responses.sort(([a], [b]) => (a === "default") - (b === "default") || String(a).localeCompare(String(b)));
      article.append(node("h4", null, "Responses"));
      for (const [code, response] of responses) article.append(responseBlock(code, response));
    }
    return article;
  }

  // ------------------------------------------------------------ render

  function render() {
    if (!isObject(doc) || !isObject(doc.paths) || typeof doc.openapi !== "string") {
      throw new Error("the document has no \"openapi\" version or no \"paths\"; it is not an OpenAPI document");
    }
    const info = isObject(doc.info) ? doc.info : {};
    if (info.title) {
      $("docs-title").textContent = info.title + " API";
      document.title = info.title + ": API documentation";
    }
    $("docs-version").textContent = [info.version ? "Version " + info.version : null, "OpenAPI " + doc.openapi].filter(Boolean).join(" · ");

    // Operations grouped by tag, in the document's tag order, then in the
    // order tags first appear; untagged ones last.
    const tagInfo = new Map();
    if (Array.isArray(doc.tags)) {
      for (const tag of doc.tags) if (isObject(tag) && tag.name) tagInfo.set(tag.name, tag);
    }
    const groups = new Map([...tagInfo.keys()].map((name) => [name, []]));
    let count = 0;
    for (const [path, rawItem] of Object.entries(doc.paths)) {
      const pathItem = resolve(rawItem);
      if (!isObject(pathItem)) continue;
      for (const method of METHODS) {
        const operation = pathItem[method];
        if (!isObject(operation)) continue;
        count += 1;
        const tags = Array.isArray(operation.tags) && operation.tags.length ? operation.tags : ["Other"];
        for (const tag of tags) {
          if (!groups.has(tag)) groups.set(tag, []);
          groups.get(tag).push({ path, method, operation, pathItem });
        }
      }
    }

    const body = $("docs-body");
    const toc = $("toc");
    const tocList = node("ul", null);
    const intro = node("section", { class: "docs-intro", "aria-label": "About this API" });
    intro.append(prose(info.description) || "");
    if (Array.isArray(doc.servers) && doc.servers.length) {
      intro.append(
        node("p", null, node("strong", null, "Servers: "), doc.servers.filter(isObject).map((server, index) => [index ? ", " : "", node("code", null, server.url), server.description ? " (" + server.description + ")" : ""])),
      );
    }
    const license = isObject(info.license) ? info.license.name : null;
    if (license) intro.append(node("p", { class: "constraints" }, "License: " + license));
    body.append(intro);

    for (const [tag, operations] of groups) {
      if (!operations.length) continue;
      const tagId = uniqueId("tag-" + slug(tag));
      const section = node("section", { class: "docs-tag", id: tagId, "aria-labelledby": tagId + "-title" });
      section.append(node("h2", { id: tagId + "-title" }, tag));
      const details = tagInfo.get(tag);
      if (details) section.append(prose(details.description) || "");
      const tocOperations = node("ul", null);
      for (const { path, method, operation, pathItem } of operations) {
        const id = uniqueId(operation.operationId ? "op-" + slug(operation.operationId) : "op-" + method + "-" + slug(path));
        section.append(operationBlock(path, method, operation, pathItem, id));
        tocOperations.append(
          node("li", null, node("a", { href: "#" + id, title: operation.summary || null }, method.toUpperCase() + " " + path)),
        );
      }
      body.append(section);
      tocList.append(node("li", null, node("a", { href: "#" + tagId }, tag), tocOperations));
    }

    const schemas = isObject(doc.components) && isObject(doc.components.schemas) ? doc.components.schemas : {};
    const names = Object.keys(schemas).sort((a, b) => a.localeCompare(b));
    if (names.length) {
      const section = node("section", { class: "docs-tag", id: uniqueId("schemas"), "aria-labelledby": "schemas-title" });
      section.append(node("h2", { id: "schemas-title" }, "Schemas"));
      const tocSchemas = node("ul", null);
      for (const name of names) {
        const id = uniqueId(schemaAnchor(name));
        const schema = schemas[name];
        const article = node("article", { class: "operation card", id, "aria-labelledby": id + "-title" });
        article.append(node("h3", { id: id + "-title" }, node("span", { class: "path" }, name)));
        article.append(prose(isObject(schema) ? schema.description : null) || "");
        const fields = fieldsTable(schema, null, 0);
        if (fields) {
          article.append(fields);
        } else {
          article.append(node("p", null, "Type: ", node("span", { class: "type" }, typeLabel(isObject(schema) ? { ...schema, description: undefined } : schema, 1))));
          article.append(constraints(schema) || "");
        }
        section.append(article);
        tocSchemas.append(node("li", null, node("a", { href: "#" + id }, name)));
      }
      body.append(section);
      tocList.append(node("li", null, node("a", { href: "#schemas" }, "Schemas"), tocSchemas));
    }

    toc.append(tocList);
    $("docs").hidden = false;
    $("docs-status").classList.remove("loading");
    $("docs-status").textContent =
      count + (count === 1 ? " endpoint" : " endpoints") + " in " + [...groups.values()].filter((list) => list.length).length + " groups, " + names.length + " schemas.";
    document.documentElement.dataset.docs = "ready";

    // A link to a section (#op-…) works once the section exists.
    if (window.location.hash.length > 1) {
      const target = document.getElementById(decodeURIComponent(window.location.hash.slice(1)));
      if (target) target.scrollIntoView();
    }
  }

  function showError(title, detail) {
    const box = $("docs-error");
    const retry = node("button", { type: "button", class: "button small" }, "Try again");
    retry.addEventListener("click", () => {
      box.hidden = true;
      load();
    });
    box.replaceChildren(
      node("p", null, node("strong", null, title)),
      detail ? node("p", null, detail) : "",
      node("p", null, "The raw document, if any, is at ", node("a", { href: SOURCE }, SOURCE), "."),
      node("div", { class: "actions" }, retry),
    );
    box.hidden = false;
    $("docs-status").classList.remove("loading");
    $("docs-status").textContent = "";
    document.documentElement.dataset.docs = "error";
  }

  async function load() {
    $("docs-status").classList.add("loading");
    $("docs-status").textContent = "Loading the API description…";
    document.documentElement.dataset.docs = "loading";
    let response;
    try {
      response = await fetch(SOURCE, { headers: { Accept: "application/json" }, cache: "no-cache" });
    } catch (_) {
      showError("The API description could not be loaded.", "The server could not be reached.");
      return;
    }
    let text = "";
    try {
      text = await response.text();
    } catch (_) {
      text = "";
    }
    if (!response.ok) {
      let detail = "";
      try {
        const error = JSON.parse(text).error;
        if (isObject(error)) detail = (error.message || "") + (error.code ? " (" + error.code + ")" : "");
      } catch (_) {
        detail = text.length < 300 ? text.trim() : "";
      }
      showError(
        "The API description could not be loaded: " + SOURCE + " answered HTTP " + response.status + (reason(response.status) ? " " + reason(response.status) : "") + ".",
        detail || null,
      );
      return;
    }
    try {
      doc = JSON.parse(text);
    } catch (error) {
      showError("The API description is not valid JSON.", String(error.message || error));
      return;
    }
    try {
      usedIds.clear();
      $("docs-body").replaceChildren();
      $("toc").replaceChildren(node("h2", { id: "toc-title" }, "Contents"));
      render();
    } catch (error) {
      $("docs").hidden = true;
      showError("The API description could not be shown.", String(error.message || error));
    }
  }

  load();
})();
