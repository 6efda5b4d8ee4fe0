// fergen/nn/visitor_ref.hpp: one concrete visitor type that stands for any parameter visitor.
#pragma once

#include <fergen/nn/parameter.hpp>

#include <memory>
#include <string_view>
#include <type_traits>

FERGEN_BEGIN_NAMESPACE
namespace nn {

// visit_parameters is a template over the visitor, and every composite wraps the visitor it is given in a
// prefixing lambda of a new type: each distinct visitor (state_dict, an optimiser's step, initialize, a
// freeze, each call site's lambda) instantiates the network's whole visiting tree again. In a network of a
// few hundred layers that multiplies compile time (Inception-V3's test spent most of its two minutes
// there). A large network passes a visitor_ref instead: its tree is instantiated once, for this type, and
// each visit costs one indirect call per parameter.
//   template <class V> void visit_parameters(V&& v) { visit_all(visitor_ref<B>(v)); }
//   void visit_all(visitor_ref<B> v) { body_.visit_parameters(v); ... }   // a plain member: one instantiation
// It refers to the visitor (which must outlive it) and forwards both kinds of item.
template <class B>
class visitor_ref {
 public:
  template <class V>
    requires(!std::is_same_v<std::remove_cvref_t<V>, visitor_ref>)
  explicit visitor_ref(V& visitor)
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(visitor)))),
        parameter_([](void* o, std::string_view name, parameter<B>& p) { (*static_cast<V*>(o))(name, p); }),
        buffer_([](void* o, std::string_view name, buffer<B>& b) { (*static_cast<V*>(o))(name, b); }) {}

  void operator()(std::string_view name, parameter<B>& p) const { parameter_(object_, name, p); }
  void operator()(std::string_view name, buffer<B>& b) const { buffer_(object_, name, b); }

 private:
  void* object_;
  void (*parameter_)(void*, std::string_view, parameter<B>&);
  void (*buffer_)(void*, std::string_view, buffer<B>&);
};

}  // namespace nn
FERGEN_END_NAMESPACE
