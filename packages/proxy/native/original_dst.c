/* originalDst(fd): the destination a connection had before iptables REDIRECT/DNAT rewrote it,
 * read with getsockopt(SO_ORIGINAL_DST) (IPv4) or getsockopt(IP6T_SO_ORIGINAL_DST) (IPv6).
 * Returns { address, port, family } or null when the socket has no such information. */
#include <node_api.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define SO_ORIGINAL_DST_OPT 80 /* SO_ORIGINAL_DST and IP6T_SO_ORIGINAL_DST share the value 80 */

static napi_value make_result(napi_env env, const char *addr, int port, int family) {
  napi_value obj, a, p, f;
  napi_create_object(env, &obj);
  napi_create_string_utf8(env, addr, NAPI_AUTO_LENGTH, &a);
  napi_create_int32(env, port, &p);
  napi_create_int32(env, family, &f);
  napi_set_named_property(env, obj, "address", a);
  napi_set_named_property(env, obj, "port", p);
  napi_set_named_property(env, obj, "family", f);
  return obj;
}

static napi_value original_dst(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], nul;
  int32_t fd = -1;
  char text[INET6_ADDRSTRLEN];
  napi_get_null(env, &nul);
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "ERR_INVALID_FD", "originalDst(fd): fd must be a non-negative integer");
    return NULL;
  }
  struct sockaddr_in v4;
  socklen_t len4 = sizeof(v4);
  memset(&v4, 0, sizeof(v4));
  if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST_OPT, &v4, &len4) == 0 && v4.sin_family == AF_INET) {
    inet_ntop(AF_INET, &v4.sin_addr, text, sizeof(text));
    return make_result(env, text, ntohs(v4.sin_port), 4);
  }
  struct sockaddr_in6 v6;
  socklen_t len6 = sizeof(v6);
  memset(&v6, 0, sizeof(v6));
  if (getsockopt(fd, SOL_IPV6, SO_ORIGINAL_DST_OPT, &v6, &len6) == 0 && v6.sin6_family == AF_INET6) {
    inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof(text));
    return make_result(env, text, ntohs(v6.sin6_port), 6);
  }
  return nul;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "originalDst", NAPI_AUTO_LENGTH, original_dst, NULL, &fn);
  napi_set_named_property(env, exports, "originalDst", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
