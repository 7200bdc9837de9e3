// Kept out of the page itself: the Content Security Policy forbids inline scripts.
window.ui = SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#swagger-ui" });
