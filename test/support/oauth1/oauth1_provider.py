"""A real OAuth 1.0a provider for tests, built on oauthlib's RFC 5849 endpoints.

Start: /usr/bin/python3 oauth1_provider.py '<json config>'; prints {"port", "baseUrl"} as one JSON line.
Config: {"port": 0, "clients": [{"consumerKey", "consumerSecret"?, "rsaPublicKey"?}],
         "signatureMethods": ["HMAC-SHA1", "HMAC-SHA256", "RSA-SHA1", "PLAINTEXT"]}
Routes:
  POST|GET /oauth/request_token        temporary credentials (oauthlib RequestTokenEndpoint)
  GET  /oauth/authorize?oauth_token=…   HTML page with Approve/Deny; with &decision=approve|deny it
                                        redirects at once (also POST form: oauth_token, decision)
  POST|GET /oauth/access_token         token credentials (oauthlib AccessTokenEndpoint)
  ANY  /api/…                          protected resource (oauthlib ResourceEndpoint): JSON echo of
                                        method, path, query and form body; 401 when not valid
  GET|DELETE /__log                    requests seen (no secrets) / clear
  GET /__issued                         16-hex SHA-256 fingerprints of every secret issued (storage scans)
  POST /__revoke {"oauthToken": "…"}    the provider revokes those token credentials (as a user would in its settings)
  POST /__faults {"request_token"|"access_token"|"resource": Fault|null}
        Fault = {status?, body?, contentType?, retryAfter?, times? (1), hang?}
Failed token requests answer 401 `oauth_problem=<reason>` (OAuth Problem Reporting extension), because
oauthlib itself answers them with an empty body.
"""
import hashlib
import html
import json
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

from oauthlib.common import add_params_to_uri, safe_string_equals
from oauthlib.oauth1 import (
    AccessTokenEndpoint,
    AuthorizationEndpoint,
    RequestTokenEndpoint,
    RequestValidator,
    ResourceEndpoint,
)
from oauthlib.oauth1.rfc5849.errors import OAuth1Error

CONFIG = json.loads(sys.argv[1] if len(sys.argv) > 1 else '{}')
CLIENTS = {c['consumerKey']: c for c in CONFIG.get('clients', [])}
SIGNATURE_METHODS = tuple(CONFIG.get('signatureMethods', ['HMAC-SHA1', 'HMAC-SHA256', 'RSA-SHA1', 'PLAINTEXT']))
DUMMY_SECRET = 'dummy-secret-for-timing-equivalence'

lock = threading.RLock()
request_tokens = {}  # token -> {client_key, secret, redirect_uri, verifier}
access_tokens = {}  # token -> {client_key, secret}
nonces = set()
log = []
faults = {}


issued_secrets = []  # 16-hex SHA-256 fingerprints of every secret handed out (never the values)


def remember(value):
    issued_secrets.append(hashlib.sha256(value.encode('utf-8')).hexdigest()[:16])


class Validator(RequestValidator):
    """In-memory validator; every check oauthlib offers stays on except TLS (loopback tests)."""

    @property
    def allowed_signature_methods(self):
        return SIGNATURE_METHODS

    @property
    def enforce_ssl(self):
        return False

    @property
    def dummy_client(self):
        return 'dummyclientdummyclient'

    @property
    def dummy_request_token(self):
        return 'dummyrequesttokendummyrequest'

    @property
    def dummy_access_token(self):
        return 'dummyaccesstokendummyaccesst'

    def get_client_secret(self, client_key, request):
        return CLIENTS.get(client_key, {}).get('consumerSecret') or DUMMY_SECRET

    def get_rsa_key(self, client_key, request):
        key = CLIENTS.get(client_key, {}).get('rsaPublicKey')
        if key:
            return key
        return next((c['rsaPublicKey'] for c in CLIENTS.values() if c.get('rsaPublicKey')), '')

    def get_request_token_secret(self, client_key, token, request):
        entry = request_tokens.get(token)
        return entry['secret'] if entry and entry['client_key'] == client_key else DUMMY_SECRET

    def get_access_token_secret(self, client_key, token, request):
        entry = access_tokens.get(token)
        return entry['secret'] if entry and entry['client_key'] == client_key else DUMMY_SECRET

    def get_default_realms(self, client_key, request):
        return []

    def get_realms(self, token, request):
        return []

    def get_redirect_uri(self, token, request):
        return request_tokens[token]['redirect_uri']

    def validate_client_key(self, client_key, request):
        return client_key in CLIENTS

    def validate_request_token(self, client_key, token, request):
        entry = request_tokens.get(token)
        return bool(entry and entry['client_key'] == client_key)

    def validate_access_token(self, client_key, token, request):
        entry = access_tokens.get(token)
        return bool(entry and entry['client_key'] == client_key)

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request,
                                     request_token=None, access_token=None):
        key = (client_key, timestamp, nonce, request_token or access_token)
        with lock:
            if key in nonces:
                return False
            nonces.add(key)
            return True

    def validate_redirect_uri(self, client_key, redirect_uri, request):
        return redirect_uri == 'oob' or redirect_uri.startswith(('http://', 'https://'))

    def validate_requested_realms(self, client_key, realms, request):
        return True

    def validate_realms(self, client_key, token, request, uri=None, realms=None):
        return True

    def validate_verifier(self, client_key, token, verifier, request):
        entry = request_tokens.get(token)
        return bool(entry and entry.get('verifier') and entry['client_key'] == client_key
                    and safe_string_equals(entry['verifier'], verifier))

    def verify_request_token(self, token, request):
        return token in request_tokens

    def verify_realms(self, token, realms, request):
        return True

    def save_request_token(self, token, request):
        remember(token['oauth_token_secret'])
        request_tokens[token['oauth_token']] = {
            'client_key': request.client_key,
            'secret': token['oauth_token_secret'],
            'redirect_uri': request.redirect_uri,
        }

    def save_verifier(self, token, verifier, request):
        remember(verifier['oauth_verifier'])
        request_tokens[token]['verifier'] = verifier['oauth_verifier']

    def save_access_token(self, token, request):
        remember(token['oauth_token'])
        remember(token['oauth_token_secret'])
        access_tokens[token['oauth_token']] = {'client_key': request.client_key, 'secret': token['oauth_token_secret']}

    def invalidate_request_token(self, client_key, request_token, request):
        request_tokens.pop(request_token, None)


validator = Validator()
request_token_endpoint = RequestTokenEndpoint(validator)
authorization_endpoint = AuthorizationEndpoint(validator)
access_token_endpoint = AccessTokenEndpoint(validator)
resource_endpoint = ResourceEndpoint(validator)


def problem_from(request):
    """OAuth Problem Reporting name for the first check that failed."""
    checks = getattr(request, 'validator_log', None) or {}
    if not checks:
        # oauthlib returns before logging when the token format or the nonce/timestamp is refused.
        return 'parameter_rejected'
    for name, problem in (('client', 'consumer_key_unknown'), ('resource_owner', 'token_rejected'),
                          ('verifier', 'verifier_invalid'), ('callback', 'parameter_rejected'),
                          ('realm', 'permission_denied'), ('signature', 'signature_invalid')):
        if checks.get(name) is False:
            return problem
    return 'permission_denied'


def token_response(endpoint, validate, create, uri, method, body, headers, after=None):
    try:
        request = endpoint._create_request(uri, method, body, headers)
        valid, processed = validate(request)
        if not valid:
            return 401, 'oauth_problem=' + problem_from(processed), {}
        token = create(processed, {})
        if after:
            after(processed)
        return 200, token, {}
    except OAuth1Error as error:
        return error.status_code, error.urlencoded, {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.route()

    def do_POST(self):
        self.route()

    def do_PUT(self):
        self.route()

    def do_PATCH(self):
        self.route()

    def do_DELETE(self):
        self.route()

    def route(self):
        length = int(self.headers.get('Content-Length') or 0)
        self.body = self.rfile.read(length).decode('utf-8') if length else ''
        parts = urlsplit(self.path)
        self.route_path = parts.path
        self.query = parts.query
        self.uri = 'http://%s%s' % (self.headers.get('Host'), self.path)
        self.status_sent = None
        path, method = parts.path, self.command
        if path == '/__issued':
            return self.send(200, json.dumps(issued_secrets), 'application/json', record=False)
        if path == '/__log':
            if method == 'DELETE':
                log.clear()
            return self.send(200, json.dumps(log if method == 'GET' else []), 'application/json', record=False)
        if path == '/__faults' and method == 'POST':
            return self.set_faults()
        if path == '/__revoke' and method == 'POST':
            with lock:
                revoked = access_tokens.pop(json.loads(self.body or '{}').get('oauthToken', ''), None)
            return self.send(200, json.dumps({'revoked': revoked is not None}), 'application/json', record=False)
        if path == '/oauth/request_token' and method in ('GET', 'POST'):
            return self.token_leg('request_token', request_token_endpoint,
                                  request_token_endpoint.validate_request_token_request,
                                  request_token_endpoint.create_request_token)
        if path == '/oauth/access_token' and method in ('GET', 'POST'):
            return self.token_leg('access_token', access_token_endpoint,
                                  access_token_endpoint.validate_access_token_request,
                                  access_token_endpoint.create_access_token,
                                  lambda r: validator.invalidate_request_token(r.client_key, r.resource_owner_key, r))
        if path == '/oauth/authorize' and method in ('GET', 'POST'):
            return self.authorize()
        if path.startswith('/api/'):
            return self.resource()
        self.send(404, json.dumps({'error': 'not_found'}), 'application/json')

    def headers_dict(self):
        return {name: value for name, value in self.headers.items()}

    def apply_fault(self, endpoint):
        fault = faults.get(endpoint)
        if not fault or fault.get('times', 1) <= 0:
            return False
        fault['times'] = fault.get('times', 1) - 1
        if fault.get('hang'):
            time.sleep(30)
            return True
        extra = {'Retry-After': str(fault['retryAfter'])} if 'retryAfter' in fault else {}
        self.send(fault.get('status', 500), fault.get('body', ''), fault.get('contentType', 'text/plain'),
                  extra, outcome='fault')
        return True

    def token_leg(self, name, endpoint, validate, create, after=None):
        if self.apply_fault(name):
            return
        with lock:
            status, body, headers = token_response(endpoint, validate, create, self.uri, self.command,
                                                   self.body, self.headers_dict(), after)
        self.send(status, body or '', 'application/x-www-form-urlencoded', headers)

    def authorize(self):
        params = dict(parse_qsl(self.query, keep_blank_values=True))
        if self.command == 'POST':
            params.update(parse_qsl(self.body, keep_blank_values=True))
        token = params.get('oauth_token', '')
        decision = params.get('decision')
        if token not in request_tokens:
            return self.send(400, '<!doctype html><title>Unknown request</title><p>Unknown or used oauth_token.</p>',
                             'text/html; charset=utf-8')
        if decision == 'approve':
            with lock:
                try:
                    headers, body, status = authorization_endpoint.create_authorization_response(
                        'http://%s/oauth/authorize?%s' % (self.headers.get('Host'), urlencode({'oauth_token': token})))
                except OAuth1Error as error:
                    return self.send(error.status_code, error.urlencoded, 'application/x-www-form-urlencoded')
            if status == 302:
                return self.send(302, '', 'text/plain', {'Location': headers['Location']}, outcome='approved')
            return self.send(status, body or '', 'application/x-www-form-urlencoded', outcome='approved')
        if decision == 'deny':
            with lock:
                entry = request_tokens.pop(token)
            location = add_params_to_uri(entry['redirect_uri'], [('denied', token)])
            return self.send(302, '', 'text/plain', {'Location': location}, outcome='denied')
        page = (
            '<!doctype html><html><head><meta charset="utf-8"><title>Authorize access</title></head><body>'
            '<h1>Authorize %s?</h1>'
            '<form method="post" action="/oauth/authorize">'
            '<input type="hidden" name="oauth_token" value="%s">'
            '<button type="submit" name="decision" value="approve" id="approve">Approve</button> '
            '<button type="submit" name="decision" value="deny" id="deny">Deny</button>'
            '</form></body></html>'
        ) % (html.escape(request_tokens[token]['client_key']), html.escape(token))
        self.send(200, page, 'text/html; charset=utf-8', outcome='page')

    def resource(self):
        if self.apply_fault('resource'):
            return
        with lock:
            valid, request = resource_endpoint.validate_protected_resource_request(
                self.uri, self.command, self.body, self.headers_dict(), realms=[])
        if not valid:
            return self.send(401, json.dumps({'error': problem_from(request) if request else 'invalid_request'}),
                             'application/json', {'WWW-Authenticate': 'OAuth realm="oauth1-provider"'})
        content_type = self.headers.get('Content-Type', '')
        form = parse_qsl(self.body, keep_blank_values=True) if 'application/x-www-form-urlencoded' in content_type else []
        self.send(200, json.dumps({
            'method': self.command,
            'path': self.route_path,
            'query': parse_qsl(self.query, keep_blank_values=True),
            'form': form,
            'consumerKey': request.client_key,
            'token': request.resource_owner_key,
            'signatureMethod': request.signature_method,
        }), 'application/json')

    def set_faults(self):
        requested = json.loads(self.body or '{}')
        for name in ('request_token', 'access_token', 'resource'):
            if name in requested:
                if requested[name] is None:
                    faults.pop(name, None)
                else:
                    faults[name] = {'times': 1, **requested[name]}
        self.send(200, json.dumps(faults), 'application/json', record=False)

    def send(self, status, body, content_type, extra_headers=None, record=True, outcome=None):
        data = body.encode('utf-8')
        # Logged before the answer goes out, so a client that has its answer always finds its entry.
        if record:
            self.record(status, outcome)
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(data)))
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def record(self, status, outcome):
        oauth = dict(parse_qsl(self.query, keep_blank_values=True))
        auth = self.headers.get('Authorization', '')
        log.append({
            'at': datetime.now(timezone.utc).isoformat(),
            'method': self.command,
            'path': self.route_path,
            'status': status,
            'outcome': outcome or ('ok' if status < 400 else 'refused'),
            'oauthIn': 'header' if auth.startswith('OAuth ') else
                       'query' if any(k.startswith('oauth_') for k in oauth) else
                       'body' if 'oauth_' in self.body else 'none',
        })


def main():
    server = ThreadingHTTPServer(('127.0.0.1', int(CONFIG.get('port', 0))), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    print(json.dumps({'port': port, 'baseUrl': 'http://127.0.0.1:%d' % port}), flush=True)
    server.serve_forever()


if __name__ == '__main__':
    main()
